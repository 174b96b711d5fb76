from django.apps import AppConfig
from django.urls import register_converter


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        import accounts.checks  # noqa: F401 (registers the system checks)
        from accounts.converters import IdConverter
        from accounts.sessions import activity_start

        user_logged_in.connect(activity_start, dispatch_uid="accounts.sessions.activity_start")

        # `<id:...>` in the apps' URL patterns (registered before any urls.py is imported).
        register_converter(IdConverter, "id")
