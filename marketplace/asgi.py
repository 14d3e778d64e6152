import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
django_application = get_asgi_application()

from plugins.proxy.asgi import with_fast_calls  # noqa: E402 - needs Django set up first

# The proxy's call endpoint is served ahead of Django's middleware (see plugins/proxy/asgi.py).
application = with_fast_calls(django_application)
