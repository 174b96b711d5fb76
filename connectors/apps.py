from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Sources"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.usage import usage_counter_register
        from connectors.selectors import connector_count

        usage_counter_register(meter="sources", counter=connector_count)
