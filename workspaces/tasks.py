from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from workspaces.embeddings import EmbeddingServiceError
from workspaces.ingestion.pipeline import document_fail, document_ingest
from workspaces.models import Document

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def document_ingest_task(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Runs in the schema of the organization that uploaded the document."""
    try:
        document_ingest(document_id=document_id)
    except Document.DoesNotExist:
        return  # deleted while queued
    except EmbeddingServiceError as error:
        # Already retried with backoff; the document says why, and can be retried by hand.
        _fail(document_id, str(error))
    except TRANSIENT as error:
        if self.request.retries >= MAX_RETRIES:
            _fail(document_id, "Processing kept failing on a temporary error. Retry it later.")
            raise
        raise self.retry(exc=error, countdown=2**self.request.retries) from error
    except Exception:
        _fail(document_id, "Processing failed unexpectedly. Retry it; if it fails again, tell us.")
        raise


def _fail(document_id: int, reason: str) -> None:
    document = Document.objects.filter(pk=document_id).first()
    if document is not None:
        document_fail(document=document, reason=reason)
