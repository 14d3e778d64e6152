from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from django.urls import register_converter

        from marketplace.converters import IdConverter

        register_converter(IdConverter, "id")
