"""Reading an export archive (lifecycle.export) into another organization, the one whose
schema is in force: its members (without passwords: they reset theirs), groups,
workspaces, grants, documents with their original files and passages (with their vectors,
so nothing is embedded again), conversations with their citations, and feedback. The
archive's audit log is not replayed: it stays in the archive as the record of the other
organization. Plan caps are not applied: this is the platform operator's tool
(`manage.py organization_import`)."""

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from accounts.models import User
from assistant.models import Citation, Conversation, Feedback, Message
from lifecycle.export import FORMAT_VERSION
from workspaces.embedding.model import embedding_model_in_force
from workspaces.index_version import index_version_bump
from workspaces.ingestion.term_stats import chunks_index_text, term_stats_add
from workspaces.models import Chunk, Document, SourceGroup, Workspace, WorkspaceGrant


class ArchiveRefused(Exception):
    """An archive this organization cannot take; the message says why."""


@dataclass
class ImportOutcome:
    counts: dict[str, int] = field(default_factory=dict)


def _rows(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    with archive.open(name) as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _manifest_check(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    except KeyError as error:
        raise ArchiveRefused("This is not an export archive: it has no manifest.json.") from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveRefused(
            f"The archive's format version is {manifest.get('format_version')}; this product "
            f"reads version {FORMAT_VERSION}."
        )
    model = embedding_model_in_force()
    if manifest.get("embedding_model") != model:
        raise ArchiveRefused(
            f"The archive's passages were embedded with {manifest.get('embedding_model')!r} and "
            f"this organization searches with {model!r}; switch its embedding model first."
        )
    if Document.objects.exists() or Conversation.objects.exists():
        raise ArchiveRefused("Import into a fresh organization: this one has content already.")
    return manifest


def _users(archive: zipfile.ZipFile) -> dict[str, User]:
    users = {user.email: user for user in User.objects.all()}
    for row in _rows(archive, "members.jsonl"):
        if row["email"] not in users:
            user = User(
                email=row["email"],
                full_name=row["full_name"],
                role=row["role"],
                is_active=row["is_active"],
            )
            user.set_unusable_password()
            user.save()
            users[user.email] = user
    return users


def _groups(archive: zipfile.ZipFile, users: dict[str, User]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for row in _rows(archive, "groups.jsonl"):
        group, _ = Group.objects.get_or_create(name=row["name"])
        group.user_set.add(*[users[email] for email in row["members"] if email in users])
        groups[group.name] = group
    return groups


def _source_groups(archive: zipfile.ZipFile) -> None:
    """The sources' groups whose members documents' readers name (archives from before
    source permissions have none)."""
    if "source_groups.jsonl" in archive.namelist():
        SourceGroup.objects.bulk_create(
            SourceGroup(key=row["key"], members=row["members"])
            for row in _rows(archive, "source_groups.jsonl")
        )


def _workspaces(archive: zipfile.ZipFile, users: dict[str, User]) -> dict[int, Workspace]:
    workspaces: dict[int, Workspace] = {}
    for row in _rows(archive, "workspaces.jsonl"):
        workspaces[row["id"]] = Workspace.objects.create(
            name=row["name"],
            slug=row["slug"],
            description=row["description"],
            language=row["language"],
            is_open=row["is_open"],
        )
    return workspaces


def _grants(
    archive: zipfile.ZipFile,
    workspaces: dict[int, Workspace],
    users: dict[str, User],
    groups: dict[str, Group],
) -> int:
    grants = [
        WorkspaceGrant(
            workspace=workspaces[row["workspace_id"]],
            user=users.get(row["user"]) if row["user"] else None,
            group=groups.get(row["group"]) if row["group"] else None,
            role=row["role"],
        )
        for row in _rows(archive, "grants.jsonl")
    ]
    WorkspaceGrant.objects.bulk_create(grants)
    return len(grants)


def _documents(
    archive: zipfile.ZipFile, workspaces: dict[int, Workspace], users: dict[str, User]
) -> tuple[dict[int, Document], dict[tuple[int, int], int]]:
    """Documents with their files, then their passages; the maps from the archive's
    document ids, and (document id, ordinal), to the new rows' ids."""
    documents: dict[int, Document] = {}
    for row in _rows(archive, "documents.jsonl"):
        document = Document(
            workspace=workspaces[row["workspace_id"]],
            title=row["title"],
            title_is_custom=row["title_is_custom"],
            original_name=row["original_name"],
            kind=row["kind"],
            size=row["size"],
            sha256=row["sha256"],
            pages=row["pages"],
            tags=row["tags"],
            status=row["status"],
            error=row["error"],
            version=row["version"],
            uploaded_by=users.get(row["uploaded_by"] or ""),
            # Archives from before source permissions have neither.
            source_url=row.get("source_url") or "",
            readers_restricted=row.get("readers") is not None,
            reader_emails=(row.get("readers") or {}).get("emails", []),
            reader_groups=(row.get("readers") or {}).get("groups", []),
            reader_domains=(row.get("readers") or {}).get("domains", []),
        )
        if row["file"]:
            # Saves the row too (upload_to needs its workspace and digest, both set).
            document.file.save(row["original_name"], ContentFile(archive.read(row["file"])))
        else:
            document.save()
        documents[row["id"]] = document
    batch: list[Chunk] = []
    per_document: dict[int, int] = {}
    for row in _rows(archive, "chunks.jsonl"):
        document = documents[row["document_id"]]
        batch.append(
            Chunk(
                document=document,
                workspace_id=document.workspace_id,
                ordinal=row["ordinal"],
                text=row["text"],
                page=row["page"],
                heading_path=row["heading_path"],
                token_count=row["token_count"],
                embedding=row["embedding"],
            )
        )
        per_document[document.pk] = per_document.get(document.pk, 0) + 1
        if len(batch) >= 1000:
            Chunk.objects.bulk_create(batch)
            batch.clear()
    Chunk.objects.bulk_create(batch)
    for document in documents.values():
        done = per_document.get(document.pk, 0)
        Document.objects.filter(pk=document.pk).update(chunks_total=done, chunks_done=done)
    by_language: dict[str, list[int]] = {}
    for document in documents.values():
        by_language.setdefault(document.workspace.language, []).append(document.pk)
    for language, ids in by_language.items():
        chunks_index_text(document_ids=ids, language=language)
    term_stats_add(document_ids=[document.pk for document in documents.values()])
    index_version_bump(workspace_ids=[workspace.pk for workspace in workspaces.values()])
    chunk_ids = {
        (document_id, ordinal): chunk_id
        for chunk_id, document_id, ordinal in Chunk.objects.values_list(
            "pk", "document_id", "ordinal"
        )
    }
    old_of_new = {document.pk: old for old, document in documents.items()}
    return documents, {
        (old_of_new[document_id], ordinal): chunk_id
        for (document_id, ordinal), chunk_id in chunk_ids.items()
    }


def _conversations(
    archive: zipfile.ZipFile,
    users: dict[str, User],
    documents: dict[int, Document],
    chunks: dict[tuple[int, int], int],
) -> tuple[int, dict[int, int]]:
    """Conversations, messages and citations; how many conversations, and the map from the
    archive's message ids to the new ones (for feedback)."""
    message_ids: dict[int, int] = {}
    count = 0
    for row in _rows(archive, "conversations.jsonl"):
        user = users[row["user"]]
        conversation = Conversation.objects.create(user=user, title=row["title"])
        messages = Message.objects.bulk_create(
            [
                Message(
                    conversation=conversation,
                    role=message["role"],
                    text=message["text"],
                    status=message["status"],
                    answered=message.get("answered", True),
                )
                for message in row["messages"]
            ]
        )
        citations: list[Citation] = []
        for message, stored in zip(row["messages"], messages, strict=True):
            message_ids[message["id"]] = stored.pk
            Message.objects.filter(pk=stored.pk).update(created_at=_when(message["created_at"]))
            for cited in message["citations"]:
                document = documents.get(cited["document_id"])
                citations.append(
                    Citation(
                        message=stored,
                        marker=cited["marker"],
                        document=document,
                        chunk_id=chunks.get((cited["document_id"], cited["ordinal"])),
                        workspace_id_at_answer=document.workspace_id if document else 0,
                        document_title=cited["document_title"],
                        page=cited["page"],
                        heading_path=cited["heading_path"],
                        passage_text=cited["passage_text"],
                        quote=cited["quote"],
                        score=cited["score"],
                        # A deleted restricted document's readers (archives from before
                        # have none): its copies stay with them.
                        readers_restricted=cited.get("readers") is not None,
                        reader_emails=(cited.get("readers") or {}).get("emails", []),
                        reader_groups=(cited.get("readers") or {}).get("groups", []),
                        reader_domains=(cited.get("readers") or {}).get("domains", []),
                    )
                )
        Citation.objects.bulk_create(citations)
        Conversation.objects.filter(pk=conversation.pk).update(
            created_at=_when(row["created_at"]), updated_at=_when(row["updated_at"])
        )
        count += 1
    return count, message_ids


def _feedback(archive: zipfile.ZipFile, users: dict[str, User], message_ids: dict[int, int]) -> int:
    feedback = [
        Feedback(
            message_id=message_ids[row["message_id"]],
            user=users[row["user"]],
            rating=row["rating"],
            comment=row["comment"],
        )
        for row in _rows(archive, "feedback.jsonl")
        if row["message_id"] in message_ids
    ]
    Feedback.objects.bulk_create(feedback)
    return len(feedback)


@transaction.atomic
def archive_import(*, path: str) -> dict[str, int]:
    """Everything in the archive at `path`, into the organization in force, in one
    transaction (a refused or broken archive leaves nothing behind); counts of what was
    made."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ArchiveRefused(f"{path} is not a readable zip archive ({error}).") from error
    with archive:
        _manifest_check(archive)
        users = _users(archive)
        groups = _groups(archive, users)
        _source_groups(archive)
        workspaces = _workspaces(archive, users)
        grants = _grants(archive, workspaces, users, groups)
        documents, chunks = _documents(archive, workspaces, users)
        conversations, message_ids = _conversations(archive, users, documents, chunks)
        feedback = _feedback(archive, users, message_ids)
    return {
        "members": len(users),
        "groups": len(groups),
        "workspaces": len(workspaces),
        "grants": grants,
        "documents": len(documents),
        "chunks": len(chunks),
        "conversations": conversations,
        "messages": len(message_ids),
        "feedback": feedback,
    }
