"""The embedding model in force: which model an organization's chunk vectors come from
(EmbeddingIndex; the deployment's EMBEDDINGS_PROVIDER until it changes it), the models it
may choose, loading them once per process, and the text a chunk is embedded from.

- `embedding_model_in_force()`: the key (`local` or `vertex`) of this organization's model;
  `embedding_model_locked()` the same, read under a share lock (ingestion's chunk swap).
- `embeddings_in_force()`: that model, which questions and new chunks are embedded with.
- `embeddings_for(key)`: the model a key names; `embeddings_default()`: the deployment's, for
  tools outside any organization.
"""

import threading

from django.conf import settings
from django.db import connection
from langchain_core.embeddings import Embeddings

from workspaces.embedding.backends import local_load, vertex_load
from workspaces.embedding.export import EXPORT_RECIPE
from workspaces.models import EmbeddingIndex

_loading = threading.Lock()


def embedding_text(*, heading_path: str, text: str) -> str:
    """What the embedding model reads of a passage: the heading path gives it its context."""
    return f"{heading_path}\n\n{text}" if heading_path else text


def embedding_index() -> EmbeddingIndex:
    index, _ = EmbeddingIndex.objects.select_related("requested_by").get_or_create(
        pk=1, defaults={"model": settings.EMBEDDINGS_PROVIDER}
    )
    return index


def embedding_model_in_force() -> str:
    """The key of the model this organization's chunk vectors come from."""
    key = EmbeddingIndex.objects.filter(pk=1).values_list("model", flat=True).first()
    return key or settings.EMBEDDINGS_PROVIDER


def embeddings_in_force() -> Embeddings:
    """The model questions are embedded with in this organization: its chunks' model."""
    return embeddings_for(embedding_model_in_force())


def embedding_model_locked() -> str | None:
    """The model in force, read under a share lock held to the end of the caller's
    transaction: a switch waits for that transaction, and the transaction for a switch."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT model FROM workspaces_embeddingindex WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
    return row[0] if row else None


def embeddings_default() -> Embeddings:
    """The deployment's default model (EMBEDDINGS_PROVIDER), for tools outside any
    organization; an organization's own is embeddings_in_force()."""
    return embeddings_for(settings.EMBEDDINGS_PROVIDER)


def embeddings_preload() -> None:
    """Load the model in the background, so the first question does not wait for it."""
    threading.Thread(target=embeddings_default, name="embeddings-preload", daemon=True).start()


# The models an organization may choose (workspaces.embedding.change switches between them). Both
# give EMBEDDING_DIMENSIONS-long vectors, so they share the chunk column.
LOCAL, VERTEX = "local", "vertex"


def embedding_models_offered() -> dict[str, str]:
    """Model key -> what an admin reads. Vertex AI only where a project is configured."""
    offered = {LOCAL: "all-MiniLM-L6-v2, run on our own servers"}
    if settings.VERTEX_PROJECT or settings.EMBEDDINGS_PROVIDER == VERTEX:
        offered[VERTEX] = f"Vertex AI {settings.VERTEX_EMBEDDING_MODEL}"
    return offered


def embedding_model_label(key: str) -> str:
    return embedding_models_offered().get(key, key)


def embeddings_for(key: str) -> Embeddings:
    """The model `key` names (`local` or `vertex`), loaded once per process."""
    # One model per process, however many threads ask while it loads.
    with _loading:
        return _model_load(key)


def _model_load(key: str) -> Embeddings:
    if key == VERTEX:
        return vertex_load(
            settings.VERTEX_EMBEDDING_MODEL, settings.VERTEX_BASE_URL, settings.EMBEDDING_DIMENSIONS
        )
    if key != LOCAL:
        raise ValueError(f"EMBEDDINGS_PROVIDER={key!r}: use 'local' or 'vertex'")
    return local_load()


def embeddings_model_id(key: str | None = None) -> str:
    """Names the vectors model `key` (default: the deployment's) makes, for caches of them."""
    if (key or settings.EMBEDDINGS_PROVIDER) == VERTEX:
        return f"vertex/{settings.VERTEX_EMBEDDING_MODEL}/{settings.EMBEDDING_DIMENSIONS}"
    if settings.EMBEDDINGS_LOCAL_RUNTIME == "onnx":
        return f"all-MiniLM-L6-v2/{EXPORT_RECIPE}"
    return "all-MiniLM-L6-v2"
