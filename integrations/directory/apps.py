from django.apps import AppConfig


class IntegrationsDirectoryConfig(AppConfig):
    name = "integrations.directory"
    label = "integrations_directory"
    verbose_name = "Slack teams' organizations"
    default_auto_field = "django.db.models.BigAutoField"
