from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self) -> None:
        from accounts.secrets_at_rest import SealedColumn, sealed_column_register
        from billing.usage import usage_counter_register
        from members.models import CLIENT_SECRET_PURPOSE
        from members.selectors import seats_held

        usage_counter_register(meter="members", counter=seats_held)
        sealed_column_register(
            SealedColumn(
                model="members.IdentityProvider",
                field="client_secret_encrypted",
                purpose=CLIENT_SECRET_PURPOSE,
            )
        )
