"""The ingestion pipeline: stored file -> parse -> normalise -> chunk -> embed -> chunks.

Idempotent: the same file gives the same chunks, and a document's chunks are replaced in
one transaction, so a search sees the old set or the new one, never a mix or nothing. A
worker that dies before that transaction leaves the previous chunks untouched.
"""

from collections import Counter
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


def document_ingest(*, document_id: int) -> Document:
    return documents_ingest(document_ids=[document_id])[0]


def documents_ingest(
    *, document_ids: list[int], on_progress: Progress | None = None
) -> list[Document]:
    """Ingest several documents, embedding their chunks together in full batches (a bulk
    load of many small documents would otherwise run the model on batches of one or two)."""
    documents = Document.objects.select_related("workspace").in_bulk(document_ids)
    prepared: list[tuple[Document, list[ChunkDraft]]] = []
    for document_id in document_ids:
        document = documents[document_id]
        drafts = _parse_and_chunk(document)
        if drafts is not None:
            prepared.append((document, drafts))

    queue = [(document, draft) for document, drafts in prepared for draft in drafts]
    vectors: list[list[float]] = []
    done: Counter[int] = Counter()
    embeddings, size = embeddings_get(), settings.EMBEDDING_BATCH_SIZE
    for start in range(0, len(queue), size):
        batch = queue[start : start + size]
        vectors.extend(embeddings.embed_documents([draft.embedding_text for _, draft in batch]))
        done.update(document.pk for document, _ in batch)
        for document_id in {document.pk for document, _ in batch}:
            Document.objects.filter(pk=document_id).update(chunks_done=done[document_id])
        if on_progress is not None:
            on_progress(len(vectors), len(queue))

    offset = 0
    for document, drafts in prepared:
        _chunks_replace(document, drafts, vectors[offset : offset + len(drafts)])
        offset += len(drafts)
    return [documents[document_id] for document_id in document_ids]


def _parse_and_chunk(document: Document) -> list[ChunkDraft] | None:
    _status_set(document, DocumentStatus.PARSING)
    with document.file.open("rb") as stream:
        data = stream.read()
    try:
        parsed = document_parse(data=data, filename=document.original_name)
        drafts = sections_chunk(parsed.sections)
        if not drafts:
            raise UnreadableDocument("The file contains no text to index.")
    except UnreadableDocument as reason:
        document_fail(document=document, reason=str(reason))
        return None
    document.kind, document.pages = parsed.kind, parsed.pages
    document.chunks_total, document.chunks_done = len(drafts), 0
    _status_set(
        document, DocumentStatus.EMBEDDING, ["kind", "pages", "chunks_total", "chunks_done"]
    )
    return drafts


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
    document.status, document.chunks_done = DocumentStatus.READY, len(drafts)


def document_fail(*, document: Document, reason: str) -> Document:
    if document.chunks.exists():
        reason += " The previous version is still searchable."
    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FAILED, error=reason)
    document.status, document.error = DocumentStatus.FAILED, reason
    return document


def _status_set(document: Document, status: str, fields: list[str] | None = None) -> None:
    document.status = status
    document.save(update_fields=["status", "updated_at", *(fields or [])])
