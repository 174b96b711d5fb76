"""Which queue ingests a document. Small documents go to the main queue; large ones (a PDF
of INGEST_LARGE_PAGES pages or more, any file of INGEST_LARGE_BYTES or more) to the large
lane (workspaces.lanes), so that one organization's manuals cannot hold every worker while
another's note waits (bench/fairness.py)."""

from django.conf import settings

from workspaces.lanes import large_lane
from workspaces.models import Document, DocumentKind


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
