"""Bytes of an uploaded file -> text sections with page numbers and heading paths.

The file type is decided by content, not by name. Every refusal is an UnreadableDocument
whose message is shown to the person who uploaded the file, as is.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]
from bs4 import BeautifulSoup
from charset_normalizer import from_bytes
from django.conf import settings
from markdown_it import MarkdownIt

from workspaces.models import DocumentKind

SUPPORTED = "Upload PDF, Word (.docx), HTML, Markdown or plain text."
HTML_BLOCKS = [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "li",
    "pre",
    "blockquote",
    "tr",
    "dt",
    "dd",
    "figcaption",
]
HTML_DROPPED = [
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "object",
    "embed",
    "head",
]


class UnreadableDocument(Exception):
    """The file cannot be indexed; the message says why in plain words."""


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDocument:
    kind: str
    sections: list[Section]
    pages: int | None = None


def document_parse(*, data: bytes, filename: str) -> ParsedDocument:
    kind = document_kind_detect(data=data, filename=filename)
    if kind == DocumentKind.PDF:
        return _parse_pdf(data)
    if kind == DocumentKind.DOCX:
        return _parse_docx(data)
    text = _decode_text(data)
    if kind == DocumentKind.HTML:
        return _parse_html(text)
    if kind == DocumentKind.MARKDOWN:
        return _parse_markdown(text)
    return ParsedDocument(kind=DocumentKind.TEXT, sections=[Section(text=normalise(text))])


def document_kind_detect(*, data: bytes, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not data.strip():
        raise UnreadableDocument("The file is empty.")
    if data.startswith(b"%PDF-"):
        return DocumentKind.PDF
    if data.startswith(b"PK\x03\x04"):
        return DocumentKind.DOCX  # _parse_docx says so if the archive is not a Word document
    if extension == "pdf":
        raise UnreadableDocument("The file is named .pdf but is not a PDF document.")
    if extension == "docx":
        raise UnreadableDocument("The file is named .docx but is not a Word document.")
    if extension == "doc" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableDocument(
            "Old Word (.doc) files are not supported. Save it as .docx and upload it again."
        )
    guess = filetype.guess(data)
    if guess is not None:
        raise UnreadableDocument(
            f"This is a {guess.mime} file, which cannot be indexed. {SUPPORTED}"
        )
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(f"This is a binary file, which cannot be indexed. {SUPPORTED}")
    if extension in ("html", "htm") or re.match(rb"\s*(<!doctype html|<html)", data[:1024], re.I):
        return DocumentKind.HTML
    if extension in ("md", "markdown"):
        return DocumentKind.MARKDOWN
    return DocumentKind.TEXT


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\x00", "")
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise UnreadableDocument(
                f"The text encoding could not be recognised. {SUPPORTED}"
            ) from None
        return str(best)


def _parse_pdf(data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                "The PDF is password-protected. Remove the password and upload it again."
            )
        sections = [
            Section(text=normalise(page.extract_text() or ""), page=number)
            for number, page in enumerate(reader.pages, start=1)
        ]
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise UnreadableDocument("The PDF is damaged and cannot be read.") from None
    sections = [section for section in sections if section.text]
    if not sections:
        raise UnreadableDocument(
            "The PDF has no extractable text; scanned documents are not supported yet."
        )
    return ParsedDocument(kind=DocumentKind.PDF, sections=sections, pages=len(reader.pages))


def _parse_docx(data: bytes) -> ParsedDocument:
    import docx
    from docx.table import Table

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableDocument("The file is not a valid Word document.") from None
    if "word/document.xml" not in archive.namelist():
        raise UnreadableDocument(f"This is a ZIP archive, not a Word document. {SUPPORTED}")
    unpacked = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries) or 1
    # A real .docx unpacks to a few times its size; a zip bomb to thousands of times.
    if unpacked > settings.DOCX_MAX_UNPACKED_BYTES or unpacked / packed > 200:
        raise UnreadableDocument(
            "The Word document unpacks to an implausible size (a zip bomb?) and was not opened."
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many kinds for a damaged package
        raise UnreadableDocument("The Word document is damaged and cannot be read.") from None
    headings: list[str] = []
    sections: list[Section] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            sections.append(Section(text=normalise("\n".join(rows)), heading_path=tuple(headings)))
            continue
        text = normalise(block.text)
        style = (block.style.name if block.style is not None else "") or ""
        level = _heading_level(style)
        if level and text:
            headings = [*headings[: level - 1], text]
        elif text:
            sections.append(Section(text=text, heading_path=tuple(headings)))
    return ParsedDocument(kind=DocumentKind.DOCX, sections=sections)


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


def _parse_html(text: str) -> ParsedDocument:
    soup = BeautifulSoup(text, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for element in soup(HTML_DROPPED):
        element.decompose()
    headings: list[str] = []
    sections: list[Section] = []
    for element in soup.find_all(HTML_BLOCKS):
        if element.find_parent(HTML_BLOCKS) is not None:
            continue  # its text is part of the enclosing block
        content = normalise(element.get_text(" ", strip=True))
        if not content:
            continue
        if element.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = int(element.name[1])
            headings = [*headings[: level - 1], content]
        else:
            sections.append(Section(text=content, heading_path=tuple(h for h in headings if h)))
    if not sections:
        body = normalise(soup.get_text("\n", strip=True))
        sections = [Section(text=body)] if body else []
    if title and not any(section.heading_path for section in sections):
        sections = [Section(text=s.text, heading_path=(title,)) for s in sections]
    return ParsedDocument(kind=DocumentKind.HTML, sections=sections)


def _parse_markdown(text: str) -> ParsedDocument:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings: list[str] = []
    sections: list[Section] = []
    pending_heading = 0
    for token in tokens:
        if token.type == "heading_open":
            pending_heading = int(token.tag[1])
        elif token.type == "inline" and pending_heading:
            headings = [*headings[: pending_heading - 1], normalise(token.content)]
            pending_heading = 0
        elif token.type == "inline" or token.type in ("fence", "code_block"):
            content = normalise(token.content)
            if content:
                sections.append(Section(text=content, heading_path=tuple(headings)))
    return ParsedDocument(kind=DocumentKind.MARKDOWN, sections=sections)
