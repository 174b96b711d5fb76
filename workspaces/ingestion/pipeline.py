"""The ingestion pipeline: stored file -> parse -> normalise -> chunk -> embed -> chunks.

Every change of a document's status happens here: queued (`document_queue`), parsing,
embedding, ready, or failed with a reason (`document_fail`).

Idempotent: the same file gives the same chunks, and a document's chunks are replaced in
one transaction, so a search sees the old set or the new one, never a mix or nothing. A
worker that dies before that transaction leaves the previous chunks untouched.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from langchain_core.embeddings import Embeddings

from billing.ledger import ledger_ingestion_failed, ledger_ingestion_record
from tenants.schemas import tenant_current
from workspaces.embedding.model import (
    embedding_model_in_force,
    embedding_model_locked,
    embeddings_for,
)
from workspaces.index_version import index_version_bump
from workspaces.ingestion.chunking import ChunkDraft, sections_chunk
from workspaces.ingestion.parsing import UnreadableDocument, document_parse
from workspaces.ingestion.queues import document_lane
from workspaces.ingestion.term_stats import chunks_index_text, term_stats_add, term_stats_remove
from workspaces.lanes import task_send
from workspaces.models import Chunk, Document, DocumentStatus
from workspaces.signals import documents_indexed

Progress = Callable[[int, int], None]


def document_queue(*, document: Document) -> Document:
    """Mark the document queued and hand it to a worker once the caller's transaction
    commits (a worker must not look for a row that is not there yet)."""
    Document.objects.filter(pk=document.pk).update(
        status=DocumentStatus.QUEUED,
        error="",
        chunks_done=0,
        deliveries=0,
        updated_at=timezone.now(),
    )
    document.status, document.error, document.chunks_done = DocumentStatus.QUEUED, "", 0
    document.deliveries = 0
    index_version_bump(workspace_ids=[document.workspace_id])
    _ingest_task_send(document)
    return document


def _ingest_task_send(document: Document) -> None:
    """Hand the document to its lane's worker once the caller's transaction commits."""
    lane = document_lane(document=document)
    transaction.on_commit(
        partial(task_send, "workspaces.tasks.document_ingest_task", document.pk, queue=lane)
    )


def document_delivery_count(*, document_id: int) -> int | None:
    """Count one more start of the document's task, committed before any work so that a
    worker killed during the work still leaves it counted; None if the document is gone."""
    with transaction.atomic():
        updated = Document.objects.filter(pk=document_id).update(deliveries=F("deliveries") + 1)
        if not updated:
            return None
        return Document.objects.values_list("deliveries", flat=True).get(pk=document_id)


def documents_stranded_sweep(*, older_than: timedelta) -> tuple[int, int]:
    """Documents queued, parsing or embedding and untouched for `older_than` lost their
    task (a message dropped with a Redis that lost its data, a worker killed past the
    broker's redelivery): requeue them, or fail those whose task already started
    INGEST_MAX_DELIVERIES times. Returns (requeued, failed) for the schema in force."""
    stranded = Document.objects.filter(
        status__in=[DocumentStatus.QUEUED, DocumentStatus.PARSING, DocumentStatus.EMBEDDING],
        updated_at__lt=timezone.now() - older_than,
    )
    requeued = failed = 0
    for document in stranded:
        if document.deliveries >= settings.INGEST_MAX_DELIVERIES:
            document_fail(document=document, reason=DELIVERIES_EXHAUSTED)
            failed += 1
            continue
        # Its delivery count is kept: a file that kills every worker still ends failed.
        Document.objects.filter(pk=document.pk).update(
            status=DocumentStatus.QUEUED, updated_at=timezone.now()
        )
        _ingest_task_send(document)
        requeued += 1
    return requeued, failed


DELIVERIES_EXHAUSTED = (
    "Processing stopped the worker several times, so it was given up. The file may be damaged "
    "or too complex: save it again (for example print it to a new PDF) and upload that."
)
TIMED_OUT = (
    "Processing took longer than the time allowed, so it was stopped. Split the file into "
    "smaller files and upload those."
)


def document_ingest(*, document_id: int) -> Document:
    ingested = documents_ingest(document_ids=[document_id])
    if not ingested:
        raise Document.DoesNotExist(f"document {document_id} was deleted")
    return ingested[0]


def documents_ingest(
    *,
    document_ids: list[int],
    on_progress: Progress | None = None,
    embeddings: Embeddings | None = None,
) -> list[Document]:
    """Ingest several documents, embedding their chunks together in full batches and writing
    them with a handful of statements per group: a bulk load of many small documents would
    otherwise run the model on batches of one or two and the database a dozen times each."""
    documents = Document.objects.select_related("workspace").in_bulk(document_ids)
    Document.objects.filter(pk__in=documents).update(
        status=DocumentStatus.PARSING, updated_at=timezone.now()
    )
    prepared: list[tuple[Document, list[ChunkDraft]]] = []
    for document in documents.values():
        drafts = _parse_and_chunk(document)
        if drafts is not None:
            prepared.append((document, drafts))
    Document.objects.bulk_update(
        [document for document, _ in prepared],
        [
            "kind",
            "pages",
            "title",
            "ocr_confidence",
            "chunks_total",
            "chunks_done",
            "status",
            "updated_at",
        ],
    )

    queue = [(document, draft) for document, drafts in prepared for draft in drafts]
    while True:
        # `embeddings` (an evaluation's cache of the model): the caller's word that it is
        # the organization's model.
        key = embedding_model_in_force()
        vectors = _drafts_embed(queue, embeddings or embeddings_for(key), on_progress)
        # The model changed while these were embedded (workspaces.embedding.change): again.
        if not prepared or _chunks_replace(prepared, vectors, model=key):
            break
        for document, _ in prepared:
            document.chunks_done = 0
    return [documents[document_id] for document_id in document_ids if document_id in documents]


def _drafts_embed(
    queue: list[tuple[Document, ChunkDraft]], model: Embeddings, on_progress: Progress | None
) -> list[list[float]]:
    vectors: list[list[float]] = []
    size = settings.EMBEDDING_BATCH_SIZE
    for start in range(0, len(queue), size):
        batch = queue[start : start + size]
        vectors.extend(model.embed_documents([draft.embedding_text for _, draft in batch]))
        touched = {document.pk: document for document, _ in batch}
        for document, _ in batch:
            document.chunks_done += 1
        Document.objects.bulk_update(touched.values(), ["chunks_done"])
        if on_progress is not None:
            on_progress(len(vectors), len(queue))
    return vectors


def _parse_and_chunk(document: Document) -> list[ChunkDraft] | None:
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
    if parsed.title and not document.title_is_custom:
        document.title = parsed.title
    document.ocr_confidence = {str(page): score for page, score in parsed.ocr_confidence.items()}
    document.chunks_total, document.chunks_done = len(drafts), 0
    document.status, document.updated_at = DocumentStatus.EMBEDDING, timezone.now()
    return drafts


@transaction.atomic
def _chunks_replace(
    prepared: list[tuple[Document, list[ChunkDraft]]],
    vectors: list[list[float]],
    *,
    model: str,
) -> bool:
    """Swap each document's chunks, all in one transaction; False, and nothing written, if
    the organization's embedding model is no longer `model`."""
    if embedding_model_locked() not in (model, None):
        return False
    # The row locks serialise two runs of the same document's task (a redelivered message);
    # taken in id order so that two overlapping groups cannot deadlock. A document deleted
    # meanwhile is no longer there to lock, and gets no chunks.
    locked = {
        document.pk: document
        for document in Document.objects.select_for_update().filter(
            pk__in=[document.pk for document, _ in prepared]
        ).order_by("pk")
    }  # fmt: skip
    chunks: list[Chunk] = []
    offset = 0
    for document, drafts in prepared:
        end = offset + len(drafts)
        if document.pk in locked:
            chunks.extend(
                Chunk(
                    document_id=document.pk, workspace_id=document.workspace_id,
                    ordinal=draft.ordinal, text=draft.text, page=draft.page,
                    heading_path=draft.heading_path, token_count=draft.token_count,
                    embedding=vector,
                )
                for draft, vector in zip(drafts, vectors[offset:end], strict=True)
            )  # fmt: skip
        offset = end
    term_stats_remove(document_ids=list(locked))
    Chunk.objects.filter(document_id__in=locked).delete()
    Chunk.objects.bulk_create(chunks, batch_size=500)
    languages: dict[str, list[int]] = {}
    for document, _ in prepared:
        if document.pk in locked:
            languages.setdefault(document.workspace.language, []).append(document.pk)
    for language, document_ids in languages.items():
        chunks_index_text(document_ids=document_ids, language=language)
    term_stats_add(document_ids=list(locked))
    Document.objects.filter(pk__in=locked).update(
        status=DocumentStatus.READY, error="", chunks_done=F("chunks_total"), previous_file=""
    )
    indexed = sorted({document.workspace_id for document in locked.values()})
    index_version_bump(workspace_ids=indexed)
    if indexed:
        transaction.on_commit(
            lambda: documents_indexed.send(sender=Document, workspace_ids=indexed)
        )
    ready = [drafts for document, drafts in prepared if document.pk in locked]
    ledger_ingestion_record(
        organization=tenant_current(),
        documents=len(ready),
        chunks=sum(len(drafts) for drafts in ready),
        tokens=sum(draft.token_count for drafts in ready for draft in drafts),
    )
    replaced = [
        (document.file.storage, document.previous_file)
        for document in locked.values()
        if document.previous_file and document.previous_file != document.file.name
    ]
    if replaced:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in replaced])
    for document, _ in prepared:
        if document.pk in locked:
            document.status, document.chunks_done = DocumentStatus.READY, document.chunks_total
    return True


def document_fail(*, document: Document, reason: str) -> Document:
    if document.chunks.exists():
        reason += " The previous version is still searchable."
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FAILED, error=reason)
        index_version_bump(workspace_ids=[document.workspace_id])
        ledger_ingestion_failed(organization=tenant_current())
    document.status, document.error = DocumentStatus.FAILED, reason
    return document
