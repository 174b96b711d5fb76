from celery import shared_task
from django_tenants.utils import schema_context

from lifecycle.deletion import organization_deletion_run, organization_deletions_due
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


@shared_task(ignore_result=True)
def organization_deletions_task() -> None:
    """Celery beat, every ORGANIZATION_DELETION_SWEEP_SECONDS: each deletion whose grace
    period is over, or whose earlier run failed, gets a run of its own."""
    for deletion_id in organization_deletions_due():
        organization_deletion_task.delay(deletion_id)


# From the public schema. A failed step is retried with backoff from where it stopped; past
# the retries the next sweep tries again, and the admin shows the error meanwhile.
@shared_task(
    ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True,
    max_retries=5,
)  # fmt: skip
def organization_deletion_task(deletion_id: int) -> None:
    organization_deletion_run(deletion_id=deletion_id)
