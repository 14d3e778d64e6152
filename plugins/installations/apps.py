from django.apps import AppConfig


class InstallationsConfig(AppConfig):
    name = "plugins.installations"
    label = "installations"
    verbose_name = "Installations"
