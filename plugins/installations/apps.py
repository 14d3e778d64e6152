from django.apps import AppConfig


class InstallationsConfig(AppConfig):
    name = "plugins.installations"
    label = "installations"
    verbose_name = "Installations"

    def ready(self) -> None:
        from plugins.installations.generations import connect_signals

        connect_signals()
