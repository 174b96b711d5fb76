"""Writes to workspaces, grants and documents. Ingestion itself is workspaces.ingestion.pipeline."""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import CapReached, cap_ensure
from tenants.schemas import tenant_current
from workspaces.access import readers_allow, workspace_allows, workspaces_creatable_by
from workspaces.index_version import index_version_bump
from workspaces.ingestion.parsing import UnreadableDocument, document_format_ensure
from workspaces.ingestion.parsing.damage import document_damage_ensure
from workspaces.ingestion.pipeline import document_queue
from workspaces.ingestion.term_stats import term_stats_remove
from workspaces.models import Document, DocumentStatus, Workspace, WorkspaceGrant, WorkspaceRole
from workspaces.selectors import title_natural_key
from workspaces.tags import TAG_MAX_CHARS, TAGS_MAX, TagRefused, tags_normalise


class WorkspaceError(Exception):
    """A refused action; the message is shown to the user as is."""


@transaction.atomic
def workspace_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    language: str = "english",
    is_open: bool = False,
) -> Workspace:
    if not workspaces_creatable_by(user=actor):
        raise WorkspaceError("Only owners and admins can create workspaces.")
    cap_ensure(organization=tenant_current(), meter="workspaces")
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    workspace = Workspace.objects.create(
        name=name.strip(), slug=slug, description=description, language=language, is_open=is_open,
        created_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor, action=AuditAction.WORKSPACE_CREATED, target=workspace,
        target_label=workspace.name, details={"open": is_open},
    )  # fmt: skip
    return workspace


@transaction.atomic
def workspace_update(
    *, actor: User, workspace: Workspace, name: str, description: str, is_open: bool
) -> Workspace:
    _ensure_level(actor, workspace, WorkspaceRole.MANAGER)
    before = _workspace_settings(workspace)
    workspace.name, workspace.description, workspace.is_open = name.strip(), description, is_open
    workspace.save(update_fields=["name", "description", "is_open"])
    after = _workspace_settings(workspace)
    changed = {key: {"from": before[key], "to": value} for key, value in after.items()
               if before[key] != value}  # fmt: skip
    if changed:
        audit_record(
            actor=actor, action=AuditAction.WORKSPACE_UPDATED, target=workspace,
            target_label=workspace.name, details=changed,
        )  # fmt: skip
    return workspace


def _workspace_settings(workspace: Workspace) -> dict[str, object]:
    return {"name": workspace.name, "description": workspace.description, "open": workspace.is_open}


def _grantee_label(grant: WorkspaceGrant) -> str:
    return grant.user.email if grant.user is not None else f"group {grant.group}"


@transaction.atomic
def grant_set(
    *, actor: User, workspace: Workspace, role: str, grantee: User | Group
) -> WorkspaceGrant:
    """Give a person or a group `role` on the workspace, replacing what they had."""
    _ensure_level(actor, workspace, WorkspaceRole.MANAGER)
    user, group = (grantee, None) if isinstance(grantee, User) else (None, grantee)
    grant, _ = WorkspaceGrant.objects.update_or_create(
        workspace=workspace, user=user, group=group, defaults={"role": role}
    )
    audit_record(
        actor=actor, action=AuditAction.GRANT_SET, target=workspace, target_label=workspace.name,
        details={"grantee": _grantee_label(grant), "role": role},
    )  # fmt: skip
    return grant


@transaction.atomic
def grant_remove(*, actor: User, grant: WorkspaceGrant) -> None:
    _ensure_level(actor, grant.workspace, WorkspaceRole.MANAGER)
    audit_record(
        actor=actor, action=AuditAction.GRANT_REMOVED, target=grant.workspace,
        target_label=grant.workspace.name,
        details={"grantee": _grantee_label(grant), "role": grant.role},
    )  # fmt: skip
    grant.delete()


def _ensure_level(actor: User, workspace: Workspace, needed: WorkspaceRole) -> None:
    if not workspace_allows(user=actor, workspace=workspace, needed=needed):
        raise WorkspaceError(
            f"You need the {needed.label.lower()} role on this workspace to do that."
        )


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


def _ensure_size(name: str, size: int) -> None:
    limit = settings.MAX_UPLOAD_BYTES
    if size > limit:
        raise WorkspaceError(
            f"“{name}” is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
        )


def _ensure_readable_format(upload: File[bytes], name: str) -> None:
    """Refuse now, not after queueing, a file in a format we cannot read."""
    data = upload.read()
    upload.seek(0)
    try:
        document_format_ensure(data=data, filename=name)
        document_damage_ensure(data=data, filename=name)
    except UnreadableDocument as reason:
        raise WorkspaceError(f"“{name}”: {reason}") from None


def _ensure_new_content(actor: User, workspace: Workspace, sha256: str, name: str) -> None:
    """Refuse content already in the workspace, naming the document holding it only to
    someone its readers let read it (a title is content too)."""
    existing = (
        Document.objects.filter(workspace=workspace, sha256=sha256)
        .annotate(readable=ExpressionWrapper(readers_allow(user=actor), BooleanField()))
        .values_list("title", "readable")
        .first()
    )
    if existing is None:
        return
    title, readable = existing
    if not readable:
        raise WorkspaceError(f"“{name}” has the same content as a document already here.")
    raise WorkspaceError(f"“{name}” has the same content as “{title}”, already in this workspace.")


@transaction.atomic
def document_upload(
    *,
    actor: User,
    workspace: Workspace,
    upload: File[bytes],
    title: str = "",
    tags: list[str] | str = "",
    queue_ingestion: bool = True,
    source_url: str = "",
) -> Document:
    """Store one uploaded file and queue its ingestion (unless the caller ingests it itself,
    as the evaluation commands do). Refuses (WorkspaceError) an oversized file before
    storing it, and content already in the workspace; past the plan's document or storage
    cap, raises billing.caps.CapReached. `source_url`: where a synced file lives at its
    source."""
    _ensure_level(actor, workspace, WorkspaceRole.EDITOR)
    normalised = _tags(tags)
    sha256 = _upload_check(actor, workspace, upload)
    cap_ensure(organization=tenant_current(), meter="documents", adding_bytes=upload.size or 0)
    return _document_store(
        actor=actor, workspace=workspace, upload=upload, sha256=sha256, title=title,
        tags=normalised, queue_ingestion=queue_ingestion, source_url=source_url,
    )  # fmt: skip


def _upload_check(actor: User, workspace: Workspace, upload: File[bytes]) -> str:
    """The file's sha256, once it is known to be small enough, readable and new here."""
    name = upload.name or "document"
    _ensure_size(name, upload.size or 0)
    _ensure_readable_format(upload, name)
    sha256 = _sha256(upload)
    _ensure_new_content(actor, workspace, sha256, name)
    return sha256


def _document_store(
    *,
    actor: User,
    workspace: Workspace,
    upload: File[bytes],
    sha256: str,
    title: str,
    tags: list[str],
    queue_ingestion: bool,
    source_url: str = "",
) -> Document:
    name = upload.name or "document"
    document = Document(
        workspace=workspace,
        title=(title.strip() or _title_from_name(name))[:300],
        title_is_custom=bool(title.strip()),
        original_name=name[:255],
        kind=_kind_from_name(name),
        size=upload.size or 0,
        sha256=sha256,
        tags=tags,
        uploaded_by=actor,
        source_url=source_url,
    )
    document.file.save(name, upload, save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        document.file.delete(save=False)
        raise WorkspaceError(f"“{name}” is already in this workspace.") from None
    audit_record(
        actor=actor, action=AuditAction.DOCUMENT_UPLOADED, target=document,
        target_label=document.title, details=_document_details(document),
    )  # fmt: skip
    if queue_ingestion:
        document_queue(document=document)
    return document


@dataclass(frozen=True)
class FileRefused:
    """A file of an upload that was not added, and the sentence that says why."""

    name: str
    reason: str


@dataclass
class UploadOutcome:
    """What became of each file of one upload: added, or refused with its reason; `cap` is
    the plan limit that left files out, if one did."""

    added: list[Document] = field(default_factory=list)
    refused: list[FileRefused] = field(default_factory=list)
    cap: CapReached | None = None
    # (added, existing): an added file that looks like a new version of a document already
    # here, offered to replace it (document_supersede).
    versions: list[tuple[Document, Document]] = field(default_factory=list)


@transaction.atomic
def documents_upload(
    *,
    actor: User,
    workspace: Workspace,
    uploads: Sequence[File[bytes]],
    tags: list[str] | str = "",
    paths: Sequence[str] = (),
) -> UploadOutcome:
    """Add the files of one upload that can be added, in the order given, and say of every
    other one why not, all decided before any file is stored.

    Past the plan's document or storage cap, the files that fit are added and the rest are
    listed: a batch is usually many independent documents, and refusing all of it would
    make the person pick which ones to drop before anything is searchable; they still learn
    exactly which files to add after upgrading or deleting. The cap's lock is held by this
    one transaction, so what the outcome lists is what was stored.

    `paths`, for the files of a folder (one for each upload, in order), are where each file
    sat in it: each folder on its path becomes one of its tags ("Handbook/HR/leave.md" is
    tagged "handbook" and "hr"), so a folder's documents can be found and filtered together.
    Titles stay the documents' own."""
    _ensure_level(actor, workspace, WorkspaceRole.EDITOR)
    normalised = _tags(tags)
    outcome = UploadOutcome()
    accepted: list[tuple[File[bytes], str]] = []
    earlier: dict[str, str] = {}
    adding_bytes = 0
    for upload in uploads:
        name = upload.name or "document"
        try:
            sha256 = _upload_check(actor, workspace, upload)
            if sha256 in earlier:
                raise WorkspaceError(
                    f"“{name}” has the same content as “{earlier[sha256]}”, earlier in this upload."
                )
            cap_ensure(
                organization=tenant_current(), meter="documents", adding=len(accepted) + 1,
                adding_bytes=adding_bytes + (upload.size or 0),
            )  # fmt: skip
        except WorkspaceError as refusal:
            outcome.refused.append(FileRefused(name=name, reason=str(refusal)))
            continue
        except CapReached as reached:
            outcome.cap = reached
            outcome.refused.append(FileRefused(name=name, reason=_cap_refusal(name, reached)))
            continue
        earlier[sha256] = name
        adding_bytes += upload.size or 0
        accepted.append((upload, sha256))
    earlier_versions = {
        id(upload): _earlier_version(actor, workspace, upload) for upload, _ in accepted
    }
    folders = {id(upload): path for upload, path in zip(uploads, paths, strict=False)}
    if len(paths) != len(uploads):
        folders = {}
    for upload, sha256 in accepted:
        try:
            document = _document_store(
                actor=actor, workspace=workspace, upload=upload, sha256=sha256, title="",
                tags=_with_folder_tags(normalised, folders.get(id(upload), "")),
                queue_ingestion=True,
            )  # fmt: skip
        except WorkspaceError as refusal:
            outcome.refused.append(FileRefused(name=upload.name or "", reason=str(refusal)))
            continue
        outcome.added.append(document)
        previous = earlier_versions[id(upload)]
        if previous is not None:
            outcome.versions.append((document, previous))
    return outcome


def _earlier_version(actor: User, workspace: Workspace, upload: File[bytes]) -> Document | None:
    """The document already here that this file looks like a new version of: one of the
    same title or file name, case aside ("Handbook.pdf" after "handbook.pdf"), among those
    the uploader may read (one kept from them by its readers is neither named nor offered)."""
    name = upload.name or "document"
    same = Q(title__iexact=_title_from_name(name)) | Q(original_name__iexact=name[:255])
    return (
        Document.objects.filter(same, readers_allow(user=actor), workspace=workspace)
        .order_by("-updated_at")
        .first()
    )


@transaction.atomic
def document_supersede(*, actor: User, document: Document, by: Document) -> Document:
    """Make the just-added document `by` the new version of `document` (the same file's
    earlier upload), through the replace path: `document` keeps its title, tags, history
    and links, and `by` is removed."""
    if by.workspace_id != document.workspace_id or by.pk == document.pk:
        raise WorkspaceError("Only a document of the same workspace can replace another.")
    with by.file.open("rb") as stream:
        content = ContentFile(stream.read(), name=by.original_name)
    document_delete(actor=actor, document=by)
    return document_replace(actor=actor, document=document, upload=content)


def _with_folder_tags(tags: list[str], path: str) -> list[str]:
    """The typed tags, then a tag for each folder on the file's path that can be one (its
    odd characters made spaces), up to the number of tags a document may carry."""
    folders = []
    for folder in path.split("/")[:-1]:
        tag = " ".join(re.sub(r"[^\w .&+-]", " ", folder).replace("_", " ").split())
        try:
            folders.extend(tags_normalise([tag[:TAG_MAX_CHARS].strip(" .&+-")]))
        except TagRefused:
            continue
    return list(dict.fromkeys([*tags, *folders]))[:TAGS_MAX]


def _cap_refusal(name: str, reached: CapReached) -> str:
    if reached.meter == "storage":
        limit = f"{filesizeformat(reached.limit)} of storage"
    else:
        limit = f"{reached.limit:,} documents"
    plan = reached.plan_name
    return f"“{name}” was not added: it does not fit under the {plan} plan's limit of {limit}."


def _document_details(document: Document) -> dict[str, object]:
    return {
        "workspace": document.workspace.name, "file": document.original_name,
        "size": document.size, "sha256": document.sha256,
    }  # fmt: skip


def document_create_from_text(
    *, actor: User, workspace: Workspace, title: str, text: str, tags: list[str] | str = ""
) -> Document:
    """A pasted entry (an FAQ answer, a note), stored and indexed as a Markdown file."""
    content = ContentFile(text.encode("utf-8"), name=f"{slugify(title) or 'entry'}.md")
    return document_upload(actor=actor, workspace=workspace, upload=content, title=title, tags=tags)


def _tags(values: list[str] | str) -> list[str]:
    try:
        return tags_normalise(values)
    except TagRefused as refusal:
        raise WorkspaceError(str(refusal)) from None


def document_tags_set(*, actor: User, document: Document, tags: list[str] | str) -> Document:
    """Give the document exactly these tags. Cached answers over its workspace are set aside
    (index version), as a filtered search may now find other passages."""
    _ensure_level(actor, document.workspace, WorkspaceRole.EDITOR)
    normalised = _tags(tags)
    if normalised == document.tags:
        return document
    # "updated" stays the content's date: re-tagging an old document does not make it new.
    with transaction.atomic():
        document.tags = normalised
        document.save(update_fields=["tags"])
        index_version_bump(workspace_ids=[document.workspace_id])
    return document


def documents_tag(
    *, actor: User, workspace: Workspace, document_ids: list[int], tags: list[str] | str
) -> int:
    """Add tags to several documents of one workspace (those of the ids that are in it);
    returns how many documents gained a tag."""
    _ensure_level(actor, workspace, WorkspaceRole.EDITOR)
    adding = _tags(tags)
    if not adding:
        raise WorkspaceError("Type the tags to add, separated by commas.")
    changed = 0
    with transaction.atomic():
        # Only those the actor may read: a document its source's readers keep from them is
        # not theirs to tag (workspaces.access).
        documents = Document.objects.select_for_update().filter(
            readers_allow(user=actor), workspace=workspace, pk__in=document_ids
        )
        for document in documents:
            combined = _tags([*document.tags, *adding])
            if combined != document.tags:
                document.tags = combined
                document.save(update_fields=["tags"])
                changed += 1
        if changed:
            index_version_bump(workspace_ids=[workspace.pk])
    return changed


@transaction.atomic
def document_replace(*, actor: User, document: Document, upload: File[bytes]) -> Document:
    """A new version of a document. Its chunks are swapped in one transaction when the new
    version is indexed; until then (and if it cannot be read) searches use the old ones."""
    _ensure_level(actor, document.workspace, WorkspaceRole.EDITOR)
    name = upload.name or document.original_name
    _ensure_size(name, upload.size or 0)
    _ensure_readable_format(upload, name)
    cap_ensure(
        organization=tenant_current(), meter="documents", adding=0,
        adding_bytes=max(0, (upload.size or 0) - document.size),
    )  # fmt: skip
    sha256 = _sha256(upload)
    if sha256 == document.sha256:
        raise WorkspaceError("That file is identical to the current version.")
    _ensure_new_content(actor, document.workspace, sha256, name)
    document.sha256, document.size, document.original_name = sha256, upload.size or 0, name[:255]
    document.kind = _kind_from_name(name)
    document.version += 1
    if not document.previous_file:
        document.previous_file = document.file.name or ""
    document.file.save(name, upload, save=False)
    document.save()
    audit_record(
        actor=actor, action=AuditAction.DOCUMENT_REPLACED, target=document,
        target_label=document.title,
        details={**_document_details(document), "version": document.version},
    )  # fmt: skip
    return document_queue(document=document)


def document_rename(*, actor: User, document: Document, title: str) -> Document:
    """A title given by a person, kept from then on instead of the file's own."""
    _ensure_level(actor, document.workspace, WorkspaceRole.EDITOR)
    title = " ".join(title.split())[:300]
    if not title:
        raise WorkspaceError("Give the document a title.")
    previous = document.title
    with transaction.atomic():
        document.title, document.title_is_custom = title, True
        document.save(update_fields=["title", "title_is_custom", "updated_at"])
        index_version_bump(workspace_ids=[document.workspace_id])
        audit_record(
            actor=actor, action=AuditAction.DOCUMENT_RENAMED, target=document,
            target_label=title, details={"from": previous, "to": title},
        )  # fmt: skip
    return document


def document_retry(*, actor: User, document: Document) -> Document:
    """Index a document again. One that failed is not counted against the plan's document
    cap (workspaces.selectors.document_count), so it must fit under the cap again."""
    _ensure_level(actor, document.workspace, WorkspaceRole.EDITOR)
    with transaction.atomic():
        if document.status == DocumentStatus.FAILED:
            cap_ensure(organization=tenant_current(), meter="documents")
        return document_queue(document=document)


def document_delete(*, actor: User, document: Document) -> None:
    """Delete the document, its chunks (cascade) and its stored file."""
    _ensure_level(actor, document.workspace, WorkspaceRole.EDITOR)
    file = document.file
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DOCUMENT_DELETED, target=document,
            target_label=document.title, details=_document_details(document),
        )  # fmt: skip
        term_stats_remove(document_ids=[document.pk])
        index_version_bump(workspace_ids=[document.workspace_id])
        document.delete()
        transaction.on_commit(lambda: file.delete(save=False))


def documents_delete(*, actor: User, workspace: Workspace, document_ids: list[int]) -> list[str]:
    """Delete several documents of one workspace at once (those of the ids that are in it),
    their chunks and stored files; returns their titles."""
    _ensure_level(actor, workspace, WorkspaceRole.EDITOR)
    with transaction.atomic():
        documents = list(
            Document.objects.select_for_update().filter(
                readers_allow(user=actor), workspace=workspace, pk__in=document_ids
            )
        )
        files = [document.file for document in documents]
        for document in documents:
            audit_record(
                actor=actor, action=AuditAction.DOCUMENT_DELETED, target=document,
                target_label=document.title, details=_document_details(document),
            )  # fmt: skip
        term_stats_remove(document_ids=[document.pk for document in documents])
        Document.objects.filter(pk__in=[document.pk for document in documents]).delete()
        index_version_bump(workspace_ids=[workspace.pk])

        def files_delete() -> None:
            for file in files:
                file.delete(save=False)

        transaction.on_commit(files_delete)
    return sorted((document.title for document in documents), key=title_natural_key)


@transaction.atomic
def document_download_record(*, actor: User, document: Document) -> None:
    """A person took a copy of the file (the caller already checked they may read it)."""
    audit_record(
        actor=actor, action=AuditAction.DOCUMENT_DOWNLOADED, target=document,
        target_label=document.title, details=_document_details(document),
    )  # fmt: skip


def _title_from_name(name: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled"


def _kind_from_name(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {
        "pdf": "pdf", "docx": "docx", "html": "html", "htm": "html", "md": "markdown",
        "markdown": "markdown", "xlsx": "xlsx", "csv": "csv", "tsv": "csv", "pptx": "pptx",
    }.get(extension, "text")  # fmt: skip
