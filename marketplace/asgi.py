import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
django_application = get_asgi_application()

from marketplace.limits import limit_request_body  # noqa: E402 - needs Django set up first
from plugins.proxy.asgi import with_fast_calls  # noqa: E402

# The proxy's call endpoint is served ahead of Django's middleware (plugins/proxy/asgi.py, with
# its own body cap); everything else is Django, behind the request size limits.
application = with_fast_calls(limit_request_body(django_application))
