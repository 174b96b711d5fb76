from datetime import timedelta

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.models import Organization
from workspaces.embedding.backends import EmbeddingServiceError
from workspaces.embedding.change import reembedding_run
from workspaces.ingestion.pipeline import (
    DELIVERIES_EXHAUSTED,
    TIMED_OUT,
    document_delivery_count,
    document_fail,
    document_ingest,
    documents_stranded_sweep,
)
from workspaces.lanes import large_lane
from workspaces.models import Document

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


MAX_RETRIES = 5


# The tasks keep the names they had in workspaces/tasks.py: messages already queued under
# those names are still found after a deploy.
@shared_task(
    name="workspaces.tasks.document_ingest_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=settings.INGEST_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.INGEST_TIME_LIMIT_SECONDS,
)
def document_ingest_task(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Runs in the schema of the organization that uploaded the document."""
    deliveries = document_delivery_count(document_id=document_id)
    if deliveries is None:
        return  # deleted while queued
    # A retry is a start of its own; a redelivered message (its worker died) repeats one.
    if deliveries - self.request.retries > settings.INGEST_MAX_DELIVERIES:
        _fail(document_id, DELIVERIES_EXHAUSTED)
        return
    try:
        document_ingest(document_id=document_id)
    except Document.DoesNotExist:
        return  # deleted while queued
    except EmbeddingServiceError as error:
        # Already retried with backoff; the document says why, and can be retried by hand.
        _fail(document_id, str(error))
    except SoftTimeLimitExceeded:
        _fail(document_id, TIMED_OUT)
    except TRANSIENT as error:
        if self.request.retries >= MAX_RETRIES:
            _fail(document_id, "Processing kept failing on a temporary error. Retry it later.")
            raise
        raise self.retry(exc=error, countdown=2**self.request.retries) from error
    except Exception as error:
        if _time_limit_under(error):
            # The limit struck inside code that wrapped it (a model's loading: "ImportError:
            # initialization failed"): still the time limit, and the reader is told so.
            _fail(document_id, TIMED_OUT)
            return
        _fail(document_id, "Processing failed unexpectedly. Retry it; if it fails again, tell us.")
        raise


@shared_task(name="workspaces.tasks.documents_sweep_task")
def documents_sweep_task() -> dict[str, int]:
    """Celery beat runs this every INGEST_SWEEP_SECONDS in the public schema: documents of
    every organization stranded in queued/parsing/embedding are requeued or failed."""
    older_than = timedelta(minutes=settings.INGEST_STRANDED_MINUTES)
    requeued = failed = 0
    for organization in Organization.objects.exclude(schema_name=get_public_schema_name()):
        with tenant_context(organization):
            again, given_up = documents_stranded_sweep(older_than=older_than)
        requeued, failed = requeued + again, failed + given_up
    return {"requeued": requeued, "failed": failed}


def _time_limit_under(error: BaseException) -> bool:
    """Whether the soft time limit is what raised this error, or what it was raised from."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, SoftTimeLimitExceeded):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _fail(document_id: int, reason: str) -> None:
    document = Document.objects.filter(pk=document_id).first()
    if document is not None:
        document_fail(document=document, reason=reason)


@shared_task(
    name="workspaces.tasks.chunks_reembed_task", acks_late=True, reject_on_worker_lost=True
)
def chunks_reembed_task() -> None:
    """Embeds the organization's chunks with the model it is moving to for a while, then
    queues itself again (documents in the same lane get their turn) until it has switched."""
    if reembedding_run(seconds=settings.REEMBED_RUN_SECONDS):
        chunks_reembed_task.apply_async(queue=large_lane())
