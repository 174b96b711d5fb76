from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from tenants.schema_ids import ids_share_after_migrate

        # Once per migrate (sent for each app; this app's is enough), in its transaction.
        post_migrate.connect(ids_share_after_migrate, sender=self, dispatch_uid="tenants.ids")
