from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Sources"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.secrets_at_rest import SealedColumn, sealed_column_register
        from billing.usage import usage_counter_register
        from connectors.credentials import PURPOSE
        from connectors.selectors import connector_count

        usage_counter_register(meter="sources", counter=connector_count)
        sealed_column_register(
            SealedColumn(
                model="connectors.Connector", field="credentials_encrypted", purpose=PURPOSE,
                legacy_keys_setting="CONNECTOR_SECRET_KEYS",
            )
        )  # fmt: skip
