from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "plugins.credentials"
    label = "credentials"
    verbose_name = "Credentials"
