from celery import shared_task

from audit.services import audit_prune_all


@shared_task
def audit_prune_task() -> int:
    """Celery beat runs this daily (CELERY_BEAT_SCHEDULE): events past their retention go."""
    return audit_prune_all()
