from celery import shared_task
from django_tenants.utils import schema_context

from lifecycle.export import data_export_write, data_exports_expire
from lifecycle.retention import retention_apply_all
from tenants.selectors import organization_list_served


@shared_task(ignore_result=True)
def retention_apply_task() -> None:
    """Celery beat runs this daily at RETENTION_RUN_HOUR (CELERY_BEAT_SCHEDULE), with the
    sweep of expired export archives."""
    retention_apply_all()
    for organization in organization_list_served():
        with schema_context(organization.schema_name):
            data_exports_expire()


# Runs in the schema of the organization that queued it (tenant-schemas-celery). A worker
# that dies mid-archive leaves the export running and the message unacknowledged: it is
# delivered again and writes the archive anew.
@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OSError,), max_retries=3)
def data_export_task(export_id: int) -> None:
    data_export_write(export_id=export_id)
