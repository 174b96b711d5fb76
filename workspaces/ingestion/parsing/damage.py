"""A file of a format we read that is damaged, refused at upload with what is wrong with
it: a PDF that pypdf cannot open, or a Word, Excel or PowerPoint file whose ZIP container
or contents python-docx, openpyxl or python-pptx cannot open. Each library raises errors of
its own kinds for the many ways a file can break; what the person needs to hear is the
same: this file is damaged, get a good copy."""

import io
import zipfile
from collections.abc import Callable
from typing import Any

from workspaces.ingestion.parsing.formats import OFFICE_PARTS, damaged_sentence
from workspaces.ingestion.parsing.office import archive_implausible
from workspaces.ingestion.parsing.structure import UnreadableDocument
from workspaces.models import DocumentKind

CUT_SHORT = "the end of the file is missing, as when a download or copy stops early"
CORRUPTED = "part of its content is corrupted"


def document_damage_ensure(*, data: bytes, filename: str) -> None:
    """Refuse a PDF or Office file its own library cannot open. Call it once the format is
    known to be one we read (formats.document_format_ensure)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(b"%PDF-"):
        _pdf_ensure_whole(data)
    elif data.startswith(b"PK\x03\x04"):
        _office_ensure_whole(data, extension)


def _pdf_ensure_whole(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return  # its pages are read, or the password asked for, while parsing
        len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError):
        # Every PDF ends with an %%EOF marker; one missing from the tail was cut short.
        cut_short = b"%%EOF" not in data[-1024:]
        why = CUT_SHORT if cut_short else CORRUPTED
        raise UnreadableDocument(damaged_sentence(kind=DocumentKind.PDF, why=why)) from None


def _office_ensure_whole(data: bytes, extension: str) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except zipfile.BadZipFile:
        if extension not in ("docx", "xlsx", "pptx"):
            return  # not one of ours: formats refuses it as a damaged ZIP archive
        # A ZIP's directory is at its very end: without it, the file was cut short.
        raise UnreadableDocument(damaged_sentence(kind=extension, why=CUT_SHORT)) from None
    names = {entry.filename for entry in entries}
    kind = next((kind for part, kind in OFFICE_PARTS.items() if part in names), None)
    if kind is None or archive_implausible(entries):
        return  # not an Office file, or one parsing refuses unopened (a zip bomb?)
    try:
        OPENERS[kind](data)
    except Exception:  # each library raises many kinds for a damaged package
        raise UnreadableDocument(damaged_sentence(kind=kind, why=CORRUPTED)) from None


def _docx_open(data: bytes) -> None:
    import docx

    docx.Document(io.BytesIO(data))


def _xlsx_open(data: bytes) -> None:
    import openpyxl  # type: ignore[import-untyped]

    openpyxl.load_workbook(io.BytesIO(data), read_only=True).close()


def _pptx_open(data: bytes) -> None:
    import pptx

    pptx.Presentation(io.BytesIO(data))


OPENERS: dict[str, Callable[[bytes], Any]] = {
    DocumentKind.DOCX: _docx_open,
    DocumentKind.XLSX: _xlsx_open,
    DocumentKind.PPTX: _pptx_open,
}
