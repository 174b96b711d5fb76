from django.apps import AppConfig
from django.urls import register_converter


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts.converters import IdConverter

        # `<id:...>` in the apps' URL patterns (registered before any urls.py is imported).
        register_converter(IdConverter, "id")
