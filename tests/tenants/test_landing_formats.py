"""The public landing page says which formats may be uploaded, from ingestion's own list."""

from django.test import Client

from workspaces.ingestion.parsing import PARSERS, READABLE
from workspaces.models import DocumentKind


def test_every_kind_ingestion_reads_has_a_parser_and_a_name_for_people():
    assert set(PARSERS) == set(READABLE) == set(DocumentKind.values)


def test_landing_page_lists_every_format_ingestion_reads(public_client: Client):
    page = public_client.get("/").content.decode()

    assert (
        "<li>PDF, Word (.docx), Excel (.xlsx), CSV, PowerPoint (.pptx), HTML, Markdown and "
        "plain text.</li>"
    ) in page
    for name in READABLE.values():
        assert name in page
