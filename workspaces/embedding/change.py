"""Changing an organization's embedding model without a gap in its answers.

An admin picks another model (`reembedding_start`). A worker embeds every chunk again with
it, a batch at a time, into ChunkEmbedding, while questions are still embedded with the model
in force and searched against Chunk.embedding. When every chunk has its new vector, one
transaction copies them over Chunk.embedding and names the new model in EmbeddingIndex: the
next question is embedded with the new model and meets its vectors.

Documents ingested meanwhile are embedded with the model in force, and the next batch picks
them up. Ingestion's chunk swap reads the model under a share lock on the EmbeddingIndex row
(`embedding_model_locked`); the switch holds that row for update while it embeds whatever is
still missing, so no chunk is committed with the old model's vector after the switch.
"""

import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from pgvector import Vector

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from workspaces.embedding.backends import EmbeddingServiceError
from workspaces.embedding.model import (
    embedding_model_label,
    embedding_models_offered,
    embedding_text,
    embeddings_for,
)
from workspaces.index_version import index_version_bump
from workspaces.lanes import large_lane, task_send
from workspaces.models import Chunk, ChunkEmbedding, EmbeddingIndex, Workspace


class ReembeddingError(Exception):
    """A change of model that cannot be made; the message is a sentence for the admin."""


def reembedding_start(*, actor: User, model: str) -> EmbeddingIndex:
    """Begin embedding every chunk with `model`; the worker switches when it is done."""
    _ensure_manager(actor)
    if model not in embedding_models_offered():
        raise ReembeddingError("Choose one of the embedding models offered.")
    with transaction.atomic():
        index = EmbeddingIndex.objects.select_for_update().get(pk=1)
        if model == index.target:
            return index  # already under way
        if model == index.model:
            raise ReembeddingError(
                f"Passages are already embedded with {embedding_model_label(model)}."
                + (" Cancel the change under way to keep it." if index.target else "")
            )
        ChunkEmbedding.objects.all().delete()  # another target's vectors, if any
        before = index.target
        index.target, index.error, index.requested_by = model, "", actor
        index.chunks_total, index.chunks_done = Chunk.objects.count(), 0
        index.started_at = timezone.now()
        index.save()
        audit_record(
            actor=actor,
            action=AuditAction.EMBEDDING_MODEL_CHANGE_STARTED,
            target_label=embedding_model_label(model),
            details={"from": index.model, "to": model, "replaced_target": before},
        )
        transaction.on_commit(_reembedding_queue)
    return index


def reembedding_retry(*, actor: User) -> EmbeddingIndex:
    """Carry on after an error, from the chunks already embedded."""
    _ensure_manager(actor)
    with transaction.atomic():
        index = _change_under_way()
        index.error = ""
        index.save(update_fields=["error"])
        transaction.on_commit(_reembedding_queue)
    return index


def reembedding_cancel(*, actor: User) -> EmbeddingIndex:
    """Keep the model in force and drop the vectors made for the other one."""
    _ensure_manager(actor)
    with transaction.atomic():
        index = _change_under_way()
        target = index.target
        ChunkEmbedding.objects.all().delete()
        index.target, index.error, index.chunks_done = "", "", 0
        index.save(update_fields=["target", "error", "chunks_done"])
        audit_record(
            actor=actor,
            action=AuditAction.EMBEDDING_MODEL_CHANGE_CANCELLED,
            target_label=embedding_model_label(target),
            details={"kept": index.model, "dropped": target},
        )
    return index


def _change_under_way() -> EmbeddingIndex:
    """The index row, locked, when a change of model is under way."""
    index = EmbeddingIndex.objects.select_for_update().get(pk=1)
    if not index.target:
        raise ReembeddingError("No change of embedding model is under way.")
    return index


def reembedding_run(*, seconds: float) -> bool:
    """Embed chunks with the target model, batch after batch, for about `seconds`, and
    switch once every chunk has its new vector. True if work remains for another run."""
    deadline = time.monotonic() + seconds
    after = 0  # chunks are taken in id order: each batch starts past the last one
    while True:
        index = EmbeddingIndex.objects.get(pk=1)
        if not index.target or index.error:
            return False
        target = index.target
        rows = _chunks_missing(after=after, limit=settings.REEMBED_BATCH_SIZE)
        try:
            if not rows:
                _switch(target)
                return False
            _vectors_store(rows, target)
        except EmbeddingServiceError as error:
            EmbeddingIndex.objects.filter(pk=1, target=target).update(error=str(error))
            return False
        after = rows[-1][0]
        EmbeddingIndex.objects.filter(pk=1, target=target).update(
            chunks_done=ChunkEmbedding.objects.count(), chunks_total=Chunk.objects.count()
        )
        if time.monotonic() > deadline:
            return True


def _chunks_missing(*, after: int, limit: int | None) -> list[tuple[int, str, str]]:
    missing = Chunk.objects.filter(pk__gt=after).exclude(
        Exists(ChunkEmbedding.objects.filter(chunk=OuterRef("pk")))
    )
    rows = missing.order_by("pk").values_list("pk", "heading_path", "text")
    return list(rows[:limit] if limit else rows)


def _vectors_store(rows: list[tuple[int, str, str]], target: str) -> None:
    vectors = embeddings_for(target).embed_documents(
        [embedding_text(heading_path=heading, text=text) for _, heading, text in rows]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # A change cancelled or redirected while this batch was embedded keeps its vectors out.
        cursor.execute("SELECT target FROM workspaces_embeddingindex WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
        if row is None or row[0] != target:
            return
        # Only for chunks still there: a document deleted meanwhile took its chunks with it.
        cursor.execute(
            "INSERT INTO workspaces_chunkembedding (chunk_id, embedding)"
            " SELECT n.id, n.embedding::vector FROM unnest(%s::bigint[], %s::text[])"
            " AS n(id, embedding) JOIN assistant_chunk c ON c.id = n.id"
            " ON CONFLICT (chunk_id) DO NOTHING",
            [[pk for pk, _, _ in rows], [Vector(vector).to_text() for vector in vectors]],
        )


@transaction.atomic
def _switch(target: str) -> None:
    index = EmbeddingIndex.objects.select_for_update().get(pk=1)
    if index.target != target or index.error:
        return  # cancelled or changed meanwhile
    # Ingestion commits chunks only under a share lock on this row, so none can come in
    # now: the chunks still missing (ingested since the last batch) are all there is.
    missing = _chunks_missing(after=0, limit=None)
    for first in range(0, len(missing), settings.REEMBED_BATCH_SIZE):
        _vectors_store(missing[first : first + settings.REEMBED_BATCH_SIZE], target)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assistant_chunk c SET embedding = e.embedding"
            " FROM workspaces_chunkembedding e WHERE e.chunk_id = c.id"
        )
    ChunkEmbedding.objects.all().delete()
    before = index.model
    index.model, index.target, index.switched_at = target, "", timezone.now()
    index.chunks_done = index.chunks_total = Chunk.objects.count()
    index.save()
    # Cached answers were found with the old vectors.
    index_version_bump(workspace_ids=Workspace.objects.values_list("pk", flat=True))
    audit_record(
        actor=None,
        action=AuditAction.EMBEDDING_MODEL_SWITCHED,
        target_label=embedding_model_label(target),
        details={"from": before, "to": target, "chunks": index.chunks_total},
    )


def _reembedding_queue() -> None:
    task_send("workspaces.tasks.chunks_reembed_task", queue=large_lane())


def _ensure_manager(actor: User) -> None:
    if not actor.can_manage_members:
        raise ReembeddingError("Only an owner or admin can change the embedding model.")
