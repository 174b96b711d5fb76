"""The ingestion pipeline: stored file -> parse -> normalise -> chunk -> embed -> chunks.

Idempotent: the same file gives the same chunks, and a document's chunks are replaced in
one transaction, so a search sees the old set or the new one, never a mix or nothing. A
worker that dies before that transaction leaves the previous chunks untouched.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Value

from assistant.embeddings import embeddings_get
from assistant.ingestion.chunking import ChunkDraft, sections_chunk
from assistant.ingestion.parsing import UnreadableDocument, document_parse
from assistant.models import Chunk
from workspaces.models import Document, DocumentStatus

Progress = Callable[[int, int], None]


def document_ingest(*, document_id: int, on_progress: Progress | None = None) -> Document:
    document = Document.objects.select_related("workspace").get(pk=document_id)
    _status_set(document, DocumentStatus.PARSING)
    with document.file.open("rb") as stream:
        data = stream.read()
    try:
        parsed = document_parse(data=data, filename=document.original_name)
        drafts = sections_chunk(parsed.sections)
        if not drafts:
            raise UnreadableDocument("The file contains no text to index.")
    except UnreadableDocument as reason:
        return document_fail(document=document, reason=str(reason))
    document.kind, document.pages = parsed.kind, parsed.pages
    document.chunks_total, document.chunks_done = len(drafts), 0
    _status_set(
        document, DocumentStatus.EMBEDDING, ["kind", "pages", "chunks_total", "chunks_done"]
    )

    vectors: list[list[float]] = []
    embeddings = embeddings_get()
    size = settings.EMBEDDING_BATCH_SIZE
    for batch in (drafts[start : start + size] for start in range(0, len(drafts), size)):
        vectors.extend(embeddings.embed_documents([draft.embedding_text for draft in batch]))
        Document.objects.filter(pk=document.pk).update(chunks_done=len(vectors))
        if on_progress is not None:
            on_progress(len(vectors), len(drafts))
    _chunks_replace(document, drafts, vectors)
    return document


@transaction.atomic
def _chunks_replace(
    document: Document, drafts: list[ChunkDraft], vectors: list[list[float]]
) -> None:
    # The row lock serialises two runs of the same document's task (a redelivered message).
    locked = Document.objects.select_for_update().get(pk=document.pk)
    Chunk.objects.filter(document=document).delete()
    Chunk.objects.bulk_create(
        Chunk(
            document=document, workspace_id=document.workspace_id, ordinal=draft.ordinal,
            text=draft.text, page=draft.page, heading_path=draft.heading_path,
            token_count=draft.token_count, embedding=vector,
        )
        for draft, vector in zip(drafts, vectors, strict=True)
    )  # fmt: skip
    language = document.workspace.language
    Chunk.objects.filter(document=document).update(
        search=SearchVector("heading_path", weight="A", config=Value(language))
        + SearchVector("text", weight="B", config=Value(language))
    )
    previous_file = locked.previous_file
    Document.objects.filter(pk=document.pk).update(
        status=DocumentStatus.READY, error="", chunks_done=len(drafts), previous_file=""
    )
    if previous_file and previous_file != locked.file.name:
        storage = locked.file.storage
        transaction.on_commit(lambda: storage.delete(previous_file))
    document.status = DocumentStatus.READY


def document_fail(*, document: Document, reason: str) -> Document:
    if document.chunks.exists():
        reason += " The previous version is still searchable."
    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FAILED, error=reason)
    document.status, document.error = DocumentStatus.FAILED, reason
    return document


def _status_set(document: Document, status: str, fields: list[str] | None = None) -> None:
    document.status = status
    document.save(update_fields=["status", "updated_at", *(fields or [])])
