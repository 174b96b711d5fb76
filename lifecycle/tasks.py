from celery import shared_task

from lifecycle.retention import retention_apply_all


@shared_task(ignore_result=True)
def retention_apply_task() -> None:
    """Celery beat runs this daily at RETENTION_RUN_HOUR (CELERY_BEAT_SCHEDULE)."""
    retention_apply_all()
