"""Taking the organization's data out: one zip archive of JSON lines (the format is in
README_ARCHIVE, written into every archive) with each document's original file and
extracted text, written by a Celery task into the private file storage and downloadable
once, by an owner, through a signed link that expires. A person exports their own
conversations at once, in the same format.

lifecycle.archive_import reads the archive back into another organization.
"""

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import IO, Any

import numpy
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from assistant.models import Citation, Conversation, Feedback, Message
from assistant.selectors import answers_withheld, citations_readable
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from lifecycle.models import DataExport, ExportStatus
from tenants.schemas import schema_name_current, tenant_current
from workspaces.embedding.model import embedding_model_in_force
from workspaces.models import Chunk, Document, SourceGroup, Workspace, WorkspaceGrant

FORMAT_VERSION = 1
LINK_SALT = "lifecycle.export.download"

README_ARCHIVE = """\
# Knowledge Assistant data export

Every file but this one, `files/` and `text/` is JSON Lines: one JSON object a line, UTF-8.
Times are ISO 8601 in UTC. Ids are this organization's own; references between files use them.

- manifest.json: format_version, organization (name, slug), exported_at, embedding_model
  (the model that made the chunk vectors), counts (lines per file).
- members.jsonl: email, full_name, role (owner, admin, billing_admin, member), is_active
  (false: removed), date_joined, last_login.
- groups.jsonl: id, name, members (emails).
- workspaces.jsonl: id, name, slug, description, language, is_open, created_at.
- grants.jsonl: workspace_id, user (email) or group (name), role (viewer, editor, manager).
- documents.jsonl: id, workspace_id, title, title_is_custom, original_name, kind, size,
  sha256, pages, tags, status, error, version, uploaded_by (email), created_at, updated_at,
  file (path of the original in this archive, or null if it was not stored), text (path of
  the extracted text), source_url (where a synced document lives at its source, or ""),
  readers (null: read by whoever reads its workspace; else its source's readers, who alone
  read it: {emails, groups (source_groups.jsonl keys), domains}).
- source_groups.jsonl: key (the source's kind and the group's id there), members (emails),
  for documents' readers.
- files/<document id>/<original name>: the original file as uploaded.
- text/<document id>.txt: the extracted text, the document's passages in order, separated
  by blank lines.
- chunks.jsonl: document_id, ordinal, text, page, heading_path, token_count, embedding (the
  passage's vector from embedding_model).
- conversations.jsonl: id, user (email), title, created_at, updated_at, messages: a list of
  {id, role (user, assistant), text, status, created_at, citations: a list of {marker,
  document_id (null once the document was deleted), ordinal (of the cited passage, or
  null), document_title, page, heading_path, quote, passage_text, score, readers (null, or
  the deleted document's readers, who alone read the citation: as documents' readers)}}.
- feedback.jsonl: message_id, user (email), rating (1 helpful, -1 not), comment,
  created_at, updated_at.
- audit.jsonl: created_at, actor (email as recorded, "" for the system), action,
  target_type, target_id, target_label, details, ip_address.
"""


class ExportRefused(Exception):
    """An export that cannot start or a link that cannot be used; the message is for the
    person."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _lines(archive: zipfile.ZipFile, name: str, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with archive.open(name, "w") as raw:
        buffer: list[str] = []
        for row in rows:
            buffer.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            count += 1
            if len(buffer) >= 1000:
                raw.write(("\n".join(buffer) + "\n").encode())
                buffer.clear()
        if buffer:
            raw.write(("\n".join(buffer) + "\n").encode())
    return count


def _emails() -> dict[int, str]:
    return dict(User.objects.values_list("pk", "email"))


def _members() -> Iterator[dict[str, Any]]:
    for user in User.objects.filter(is_service_account=False).order_by("pk"):
        yield {
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "is_active": user.is_active,
            "date_joined": _time(user.date_joined),
            "last_login": _time(user.last_login),
        }


def _groups() -> Iterator[dict[str, Any]]:
    for group in Group.objects.prefetch_related("user_set").order_by("pk"):
        emails = sorted(user.email for user in group.user_set.all())
        yield {"id": group.pk, "name": group.name, "members": emails}


def _workspaces() -> Iterator[dict[str, Any]]:
    for workspace in Workspace.objects.order_by("pk"):
        yield {
            "id": workspace.pk,
            "name": workspace.name,
            "slug": workspace.slug,
            "description": workspace.description,
            "language": workspace.language,
            "is_open": workspace.is_open,
            "created_at": _time(workspace.created_at),
        }


def _grants(emails: dict[int, str]) -> Iterator[dict[str, Any]]:
    for grant in WorkspaceGrant.objects.select_related("group").order_by("pk"):
        yield {
            "workspace_id": grant.workspace_id,
            "user": emails.get(grant.user_id) if grant.user_id else None,
            "group": grant.group.name if grant.group else None,
            "role": grant.role,
        }


def _document_row(document: Document, emails: dict[int, str], file: str | None) -> dict[str, Any]:
    return {
        "id": document.pk,
        "workspace_id": document.workspace_id,
        "title": document.title,
        "title_is_custom": document.title_is_custom,
        "original_name": document.original_name,
        "kind": document.kind,
        "size": document.size,
        "sha256": document.sha256,
        "pages": document.pages,
        "tags": document.tags,
        "status": document.status,
        "error": document.error,
        "version": document.version,
        "uploaded_by": emails.get(document.uploaded_by_id or 0),
        "created_at": _time(document.created_at),
        "updated_at": _time(document.updated_at),
        "file": file,
        "text": f"text/{document.pk}.txt",
        "source_url": document.source_url,
        "readers": {
            "emails": document.reader_emails,
            "groups": document.reader_groups,
            "domains": document.reader_domains,
        }
        if document.readers_restricted
        else None,
    }


def _source_groups() -> Iterator[dict[str, Any]]:
    for group in SourceGroup.objects.order_by("key"):
        yield {"key": group.key, "members": group.members}


def _documents_write(archive: zipfile.ZipFile, emails: dict[int, str]) -> dict[str, int]:
    """Originals, extracted texts, documents.jsonl and chunks.jsonl, a document at a time
    so that memory holds one document's passages, never the organization's. (A zip takes
    one member at a time: the passages' lines gather in a scratch file meanwhile.)"""
    rows: list[dict[str, Any]] = []
    chunk_count = 0
    with tempfile.TemporaryFile() as chunk_lines:
        for document in Document.objects.order_by("pk").iterator(chunk_size=200):
            file = _original_write(archive, document)
            rows.append(_document_row(document, emails, file))
            passages = list(
                Chunk.objects.filter(document_id=document.pk)
                .order_by("ordinal")
                .values_list("ordinal", "text", "page", "heading_path", "token_count", "embedding")
            )
            archive.writestr(
                f"text/{document.pk}.txt",
                "\n\n".join(text for _, text, *_ in passages),
                compress_type=zipfile.ZIP_DEFLATED,
            )
            for ordinal, text, page, heading, tokens, vector in passages:
                row = {
                    "document_id": document.pk,
                    "ordinal": ordinal,
                    "text": text,
                    "page": page,
                    "heading_path": heading,
                    "token_count": tokens,
                    "embedding": numpy.round(vector, 7).tolist(),
                }
                chunk_lines.write(
                    json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
                )
                chunk_lines.write(b"\n")
            chunk_count += len(passages)
        chunk_lines.seek(0)
        with archive.open("chunks.jsonl", "w") as out:
            shutil.copyfileobj(chunk_lines, out, 1 << 20)
    documents = _lines(archive, "documents.jsonl", rows)
    return {"documents.jsonl": documents, "chunks.jsonl": chunk_count}


def _original_write(archive: zipfile.ZipFile, document: Document) -> str | None:
    if not document.file or not document.file.storage.exists(document.file.name):
        return None
    # Originals are mostly compressed already (PDF, DOCX, XLSX): stored as they are.
    name = f"files/{document.pk}/{document.original_name}"
    entry = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    with (
        document.file.storage.open(document.file.name, "rb") as source,
        archive.open(entry, "w") as out,
    ):
        shutil.copyfileobj(source, out, 1 << 20)
    return name


def _conversations(
    conversations: QuerySet[Conversation], emails: dict[int, str], reader: User | None = None
) -> Iterator[dict[str, Any]]:
    """Each conversation with its messages and their citations, in pages of 200
    conversations (three queries a page). For a `reader` (a person's own export), only the
    citations they may still read, and without the text of an answer that quoted what
    they may no longer read, as the conversation page shows them."""
    ids = list(conversations.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 200):
        page = ids[start : start + 200]
        messages: dict[int, list[dict[str, Any]]] = {}
        citations: dict[int, list[dict[str, Any]]] = {}
        readable = Citation.objects.all() if reader is None else citations_readable(user=reader)
        cited = readable.filter(message__conversation_id__in=page).select_related("chunk")
        withheld = (
            set()
            if reader is None
            else answers_withheld(
                user=reader,
                message_ids=list(
                    Message.objects.filter(conversation_id__in=page).values_list("pk", flat=True)
                ),
            )
        )
        for citation in cited.order_by("message_id", "marker"):
            citations.setdefault(citation.message_id, []).append(
                {
                    "marker": citation.marker,
                    "document_id": citation.document_id,
                    "ordinal": citation.chunk.ordinal if citation.chunk else None,
                    "document_title": citation.document_title,
                    "page": citation.page,
                    "heading_path": citation.heading_path,
                    "quote": citation.quote,
                    "passage_text": citation.passage_text,
                    "score": citation.score,
                    "readers": {
                        "emails": citation.reader_emails,
                        "groups": citation.reader_groups,
                        "domains": citation.reader_domains,
                    }
                    if citation.readers_restricted
                    else None,
                }
            )
        for message in Message.objects.filter(conversation_id__in=page).order_by("pk"):
            messages.setdefault(message.conversation_id, []).append(
                {
                    "id": message.pk,
                    "role": message.role,
                    "text": "" if message.pk in withheld else message.text,
                    "status": message.status,
                    "answered": message.answered,
                    "created_at": _time(message.created_at),
                    "citations": citations.get(message.pk, []),
                }
            )
        for conversation in Conversation.objects.filter(pk__in=page).order_by("pk"):
            yield {
                "id": conversation.pk,
                "user": emails.get(conversation.user_id),
                "title": conversation.title,
                "created_at": _time(conversation.created_at),
                "updated_at": _time(conversation.updated_at),
                "messages": messages.get(conversation.pk, []),
            }


def _feedback(feedback: QuerySet[Feedback], emails: dict[int, str]) -> Iterator[dict[str, Any]]:
    for item in feedback.order_by("pk").iterator(chunk_size=2000):
        yield {
            "message_id": item.message_id,
            "user": emails.get(item.user_id),
            "rating": item.rating,
            "comment": item.comment,
            "created_at": _time(item.created_at),
            "updated_at": _time(item.updated_at),
        }


def _audit() -> Iterator[dict[str, Any]]:
    for event in AuditEvent.objects.order_by("created_at", "pk").iterator(chunk_size=2000):
        yield {
            "created_at": _time(event.created_at),
            "actor": event.actor_label,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "target_label": event.target_label,
            "details": event.details,
            "ip_address": event.ip_address,
        }


def _manifest(archive: zipfile.ZipFile, counts: dict[str, int]) -> None:
    organization = tenant_current()
    manifest = {
        "format_version": FORMAT_VERSION,
        "organization": {"name": organization.name, "slug": organization.slug},
        "exported_at": timezone.now().isoformat(),
        "embedding_model": embedding_model_in_force(),
        "counts": counts,
    }
    archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    archive.writestr("README.md", README_ARCHIVE)


def archive_write(out: IO[bytes]) -> dict[str, int]:
    """The whole organization's archive, in the schema in force, into `out`; lines per
    file. Read in one REPEATABLE READ transaction, so every file is of the same moment."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:  # (a caller's transaction, a test's, has its own level already)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        emails = _emails()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            counts = _documents_write(archive, emails)
            counts["members.jsonl"] = _lines(archive, "members.jsonl", _members())
            counts["groups.jsonl"] = _lines(archive, "groups.jsonl", _groups())
            counts["source_groups.jsonl"] = _lines(archive, "source_groups.jsonl", _source_groups())
            counts["workspaces.jsonl"] = _lines(archive, "workspaces.jsonl", _workspaces())
            counts["grants.jsonl"] = _lines(archive, "grants.jsonl", _grants(emails))
            counts["conversations.jsonl"] = _lines(
                archive, "conversations.jsonl", _conversations(Conversation.objects.all(), emails)
            )
            counts["feedback.jsonl"] = _lines(
                archive, "feedback.jsonl", _feedback(Feedback.objects.all(), emails)
            )
            counts["audit.jsonl"] = _lines(archive, "audit.jsonl", _audit())
            _manifest(archive, counts)
    return counts


@transaction.atomic
def data_export_start(*, actor: User) -> DataExport:
    """Queue an export of everything; one at a time per organization."""
    busy = DataExport.objects.select_for_update().filter(
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    )
    if busy.exists():
        raise ExportRefused(
            "An export is already being written. It will be listed here when ready."
        )
    export = DataExport.objects.create(requested_by=actor)
    audit_record(actor=actor, action=AuditAction.EXPORT_STARTED, target=export)
    from lifecycle.tasks import data_export_task

    transaction.on_commit(lambda: data_export_task.delay(export.pk))
    return export


def data_export_write(*, export_id: int) -> DataExport:
    """The task's work: write the archive and store it privately. A redelivered task finds
    the export finished and does nothing; a worker that died mid-way left no stored file
    (it is stored only once whole), so running again starts over."""
    export = DataExport.objects.get(pk=export_id)
    if export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return export
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    try:
        with tempfile.TemporaryFile() as scratch:
            counts = archive_write(scratch)
            size = scratch.tell()
            scratch.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            name = default_storage.save(
                f"{schema_name_current()}/exports/{export.pk}-{stamp}.zip", File(scratch)
            )
    except Exception as error:
        DataExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=f"The archive could not be written: {error}"
        )
        raise
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY,
        file_name=name,
        size=size,
        counts=counts,
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export


def data_export_link_token(*, export: DataExport) -> str:
    return signing.dumps({"export": export.pk, "schema": schema_name_current()}, salt=LINK_SALT)


def data_export_link_expiry(*, export: DataExport) -> datetime | None:
    if export.finished_at is None:
        return None
    return export.finished_at + timedelta(seconds=settings.DATA_EXPORT_LINK_MAX_AGE_SECONDS)


def _export_from_token(token: str) -> DataExport:
    max_age = settings.DATA_EXPORT_LINK_MAX_AGE_SECONDS
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise ExportRefused("This download link has expired. Start a new export.") from error
    except signing.BadSignature as error:
        raise ExportRefused("This download link is not valid.") from error
    export = DataExport.objects.select_for_update().filter(pk=data.get("export")).first()
    if export is None or data.get("schema") != schema_name_current():
        raise ExportRefused("This download link is not valid.")
    return export


class _ReadOnce(File):  # type: ignore[type-arg]
    """The stored archive, deleted from storage once the response has sent it."""

    def __init__(self, stored_name: str) -> None:
        super().__init__(default_storage.open(stored_name, "rb"), name=stored_name)
        self.stored_name = stored_name

    def close(self) -> None:
        super().close()
        default_storage.delete(self.stored_name)


@transaction.atomic
def data_export_download(*, actor: User, token: str) -> tuple[File, str]:  # type: ignore[type-arg]
    """The archive behind a download link, for its one download: the export is marked
    downloaded and the file goes once it has been sent."""
    export = _export_from_token(token)
    expiry = data_export_link_expiry(export=export)
    expired = expiry is not None and expiry < timezone.now()
    if export.status == ExportStatus.DOWNLOADED:
        raise ExportRefused(
            "This archive was downloaded already; each is downloaded once. Start a new export."
        )
    if export.status == ExportStatus.EXPIRED or expired:
        raise ExportRefused("This download link has expired. Start a new export.")
    if export.status != ExportStatus.READY:
        raise ExportRefused("This archive is not ready yet.")
    if not default_storage.exists(export.file_name):
        raise ExportRefused("This archive is no longer stored. Start a new export.")
    export.status, export.downloaded_at = ExportStatus.DOWNLOADED, timezone.now()
    export.save(update_fields=["status", "downloaded_at"])
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT_DOWNLOADED,
        target=export,
        details={"size": export.size},
    )
    file = _ReadOnce(export.file_name)
    filename = f"{tenant_current().slug}-export-{export.pk}.zip"
    return file, filename


def data_exports_expire(*, now: datetime | None = None) -> int:
    """Delete the stored archives whose link has expired, in the schema in force (daily);
    how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DATA_EXPORT_LINK_MAX_AGE_SECONDS)
    expired = DataExport.objects.filter(status=ExportStatus.READY, finished_at__lt=cutoff)
    count = 0
    for export in expired:
        default_storage.delete(export.file_name)
        DataExport.objects.filter(pk=export.pk).update(status=ExportStatus.EXPIRED, file_name="")
        count += 1
    return count


def conversations_export_own(*, actor: User, out: IO[bytes]) -> dict[str, int]:
    """A person's own conversations and feedback, in the archive's format, into `out`."""
    emails = {actor.pk: actor.email}
    with transaction.atomic():
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            counts = {
                "conversations.jsonl": _lines(
                    archive,
                    "conversations.jsonl",
                    _conversations(Conversation.objects.filter(user=actor), emails, reader=actor),
                ),
                "feedback.jsonl": _lines(
                    archive,
                    "feedback.jsonl",
                    _feedback(Feedback.objects.filter(user=actor), emails),
                ),
            }
            archive.writestr("README.md", README_ARCHIVE)
        audit_record(
            actor=actor, action=AuditAction.CONVERSATIONS_EXPORTED, target=actor, details=counts
        )
    return counts
