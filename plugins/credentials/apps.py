from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "plugins.credentials"
    label = "credentials"
    verbose_name = "Credentials"

    def ready(self):
        from plugins.credentials import signals  # noqa: F401 - connects the receivers
