"""Which format a file is, decided by its content (its name only breaks ties between text
formats), and the refusal, naming the format, of what we cannot read."""

import io
import re
import zipfile

import filetype  # type: ignore[import-untyped]

from workspaces.ingestion.parsing.structure import UnreadableDocument
from workspaces.models import DocumentKind

# Every format ingestion reads, as people know it, in the order they are told it: the refusals
# below and the public landing page list these, and document_parse has a parser for each kind
# (a test holds the two equal), so what we say we read cannot drift from what we read.
READABLE: dict[str, str] = {
    DocumentKind.PDF: "PDF",
    DocumentKind.DOCX: "Word (.docx)",
    DocumentKind.XLSX: "Excel (.xlsx)",
    DocumentKind.CSV: "CSV",
    DocumentKind.PPTX: "PowerPoint (.pptx)",
    DocumentKind.HTML: "HTML",
    DocumentKind.MARKDOWN: "Markdown",
    DocumentKind.TEXT: "plain text",
}


def readable_formats_listed(*, conjunction: str) -> str:
    """The readable formats in one phrase: "PDF, Word (.docx), ... Markdown or plain text"."""
    *most, last = READABLE.values()
    return f"{', '.join(most)} {conjunction} {last}"


SUPPORTED = f"Upload {readable_formats_listed(conjunction='or')}."
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
OLE2 = b"\xd0\xcf\x11\xe0"
OLD_OFFICE = {
    "doc": "Old Word (.doc) files are not supported. Save it as .docx and upload it again.",
    "dot": "Old Word (.dot) templates are not supported. Save it as .docx and upload it again.",
    "xls": "Excel 97 .xls files are not supported; save as .xlsx and upload it again.",
    "ppt": "PowerPoint 97 .ppt files are not supported; save as .pptx and upload it again.",
    "msg": "Outlook .msg messages are not supported; save the text as a PDF or .docx.",
}
OPEN_DOCUMENT = {
    "application/vnd.oasis.opendocument.text": "OpenDocument text (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheets (.ods)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentations (.odp)",
    "application/epub+zip": "EPUB e-books",
}
OFFICE_PARTS = {
    "word/document.xml": DocumentKind.DOCX,
    "xl/workbook.xml": DocumentKind.XLSX,
    "ppt/presentation.xml": DocumentKind.PPTX,
}
OFFICE_NAMES = {
    DocumentKind.DOCX: "Word",
    DocumentKind.XLSX: "Excel",
    DocumentKind.PPTX: "PowerPoint",
}

# A file of one of these formats that its library cannot open is called damaged, by name.
DAMAGED_NAMES: dict[str, str] = {
    DocumentKind.PDF: "PDF",
    DocumentKind.DOCX: "Word document",
    DocumentKind.XLSX: "Excel workbook",
    DocumentKind.PPTX: "PowerPoint file",
}


def damaged_sentence(*, kind: str, why: str) -> str:
    return (
        f"This {DAMAGED_NAMES[kind]} is damaged and could not be read: {why}. "
        "Save or download it again and upload the new copy."
    )


def document_format_ensure(*, data: bytes, filename: str) -> None:
    """Refuse, at upload, a file in a format we cannot read, naming the format. A file of a
    supported format that is damaged passes here and fails while parsing, with the reason."""
    reason = _unsupported(data, _extension(filename))
    if reason:
        raise UnreadableDocument(reason)


def document_kind_detect(*, data: bytes, filename: str) -> str:
    extension = _extension(filename)
    if not data.strip():
        raise UnreadableDocument("The file is empty.")
    reason = _unsupported(data, extension)
    if reason:
        raise UnreadableDocument(reason)
    if data.startswith(b"%PDF-"):
        return DocumentKind.PDF
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data, extension)
    if extension == "pdf":
        raise UnreadableDocument("The file is named .pdf but is not a PDF document.")
    for kind, name in OFFICE_NAMES.items():
        if extension == kind:
            raise UnreadableDocument(
                f"The file is named .{extension} but is not a {name} document."
            )
    if extension in ("html", "htm") or re.match(rb"\s*(<!doctype html|<html)", _ascii(data), re.I):
        return DocumentKind.HTML
    if extension in ("md", "markdown"):
        return DocumentKind.MARKDOWN
    if extension in ("csv", "tsv"):
        return DocumentKind.CSV
    return DocumentKind.TEXT


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def _ascii(data: bytes) -> bytes:
    """The start of a text file with a UTF-16 byte-order mark as ASCII, for sniffing."""
    head = data[:2048]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    return head[:1024]


def _unsupported(data: bytes, extension: str) -> str:
    if not data.strip():
        return ""  # an empty file is refused, as empty, when it is parsed
    if data.startswith(OLE2):
        return OLD_OFFICE.get(
            extension,
            "Old Microsoft Office files (.doc, .xls, .ppt) are not supported; save as .docx, "
            ".xlsx or .pptx and upload it again.",
        )
    if data.startswith(b"{\\rtf"):
        return "Rich Text (.rtf) files are not supported; save as .docx and upload it again."
    if data.startswith(b"PK\x03\x04"):
        return _unsupported_archive(data, extension)
    if data.startswith((b"%PDF-", *BOMS)):
        return ""
    guess = filetype.guess(data)
    if guess is not None:
        return f"{guess.extension.upper()} files ({guess.mime}) cannot be indexed. {SUPPORTED}"
    if b"\x00" in data[:8192]:
        if extension in DAMAGED_NAMES:
            return damaged_sentence(
                kind=extension, why=f"it does not begin as a .{extension} file does"
            )
        return f"This is a binary file, which cannot be indexed. {SUPPORTED}"
    return ""


def _unsupported_archive(data: bytes, extension: str) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        mimetype = archive.read("mimetype").decode("ascii", "ignore") if "mimetype" in names else ""
    except (zipfile.BadZipFile, KeyError, OSError):
        # A damaged office file fails while parsing, with its reason; any other is refused.
        if extension in OFFICE_NAMES:
            return ""
        return f"This is a damaged ZIP archive, which cannot be indexed. {SUPPORTED}"
    if any(part in names for part in OFFICE_PARTS):
        return ""
    if mimetype.strip() in OPEN_DOCUMENT:
        what = OPEN_DOCUMENT[mimetype.strip()]
        return f"{what} files are not supported; save as .docx, .xlsx or .pptx (or PDF)."
    if any(name.startswith("Index/") and name.endswith(".iwa") for name in names):
        return (
            "Apple Pages, Numbers and Keynote files are not supported; export as .docx, "
            ".xlsx or .pptx."
        )
    return f"This is a ZIP archive, not a document. {SUPPORTED}"


def _office_kind(data: bytes, extension: str) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        name = OFFICE_NAMES.get(extension, "Office")  # type: ignore[call-overload]
        raise UnreadableDocument(f"The file is not a valid {name} document.") from None
    for part, kind in OFFICE_PARTS.items():
        if part in names:
            return kind
    raise UnreadableDocument(f"This is a ZIP archive, not a document. {SUPPORTED}")
