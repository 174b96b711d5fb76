from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (Slack)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.secrets_at_rest import SealedColumn, sealed_column_register
        from integrations.token_vault import PURPOSE

        sealed_column_register(
            SealedColumn(
                model="integrations.SlackInstallation", field="bot_token_encrypted",
                purpose=PURPOSE, legacy_keys_setting="SLACK_TOKEN_KEYS",
            )
        )  # fmt: skip
