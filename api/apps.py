from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers its drf-spectacular extensions)
        from api.receivers import keys_revoke_on_authority_withdrawn
        from members.signals import member_authority_withdrawn

        member_authority_withdrawn.connect(
            keys_revoke_on_authority_withdrawn, dispatch_uid="api.keys_revoke"
        )
