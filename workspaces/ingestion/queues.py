"""Which Celery queue work goes to, and sending a task by its name.

Small documents go to the main queue; large ones (a PDF of INGEST_LARGE_PAGES pages or more,
any file of INGEST_LARGE_BYTES or more) and re-embedding go to the large lane, served by a
worker of its own (INGEST_LARGE_CONCURRENCY), so that one organization's manuals cannot hold
every worker while another's note waits (bench/fairness.py).

Code that queues a task sends it by name (`task_send`) rather than importing the task
module, which imports that code to do the work: the queue is where the two meet.
"""

from typing import Any

from celery import current_app
from django.conf import settings

from workspaces.models import Document, DocumentKind


def task_send(name: str, *args: Any, queue: str) -> None:
    """Queue the registered task `name` (e.g. "workspaces.tasks.document_ingest_task") on
    `queue`, with its own options: its time limits and the organization's schema travel in
    the message."""
    if name not in current_app.tasks:
        # Only a worker imports the task modules when it starts; a web process learns of
        # them here, through the same autodiscovery (saas/celery.py), the first time.
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args, queue=queue)


def large_lane() -> str:
    """The queue of large documents, served by a worker of its own (INGEST_LARGE_CONCURRENCY)."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.large"


def document_lane(*, document: Document) -> str:
    """Which queue ingests the document. Large ones (a PDF of INGEST_LARGE_PAGES pages or
    more, any file of INGEST_LARGE_BYTES or more) go to a lane of their own, so that two
    200-page manuals of one organization cannot hold every worker while another
    organization's one-page note waits behind them: small documents keep the main lane."""
    if document.size >= settings.INGEST_LARGE_BYTES:
        return large_lane()
    if document.kind == DocumentKind.PDF and _pdf_pages(document) >= settings.INGEST_LARGE_PAGES:
        return large_lane()
    return settings.CELERY_TASK_DEFAULT_QUEUE


def _pdf_pages(document: Document) -> int:
    """The PDF's page count from its page tree (no page is parsed); 0 when it cannot be
    read, which the parser will report."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with document.file.open("rb") as stream:
            return len(PdfReader(stream).pages)
    except (PyPdfError, OSError, ValueError, KeyError, TypeError):
        return 0
