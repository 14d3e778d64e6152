import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
django_application = get_asgi_application()

from marketplace.limits import limit_request_body  # noqa: E402 - needs Django set up first

application = limit_request_body(django_application)
