"""The ONNX export of the bundled model says what torch's sentence-transformers says."""

import numpy as np
from django.conf import settings

from workspaces.embedding.backends import embeddings_local
from workspaces.embedding.model import embeddings_default

TEXTS = [
    "Employees accrue 25 days of annual leave per year, plus public holidays.",
    "The NR-350 robot arm carries payloads of up to 12 kg at full reach.",
    "Expense claims over 500 pounds need a director's approval before payment.",
    "Vitamin D deficiency is associated with an increased risk of fractures.",
    "Short",
]
QUERIES = ["how much holiday do I get", "maximum payload of the NR-350", "who approves expenses"]


def test_the_default_runtime_is_the_onnx_export() -> None:
    assert settings.EMBEDDINGS_LOCAL_RUNTIME == "onnx"
    assert type(embeddings_default()).__name__ == "OnnxMiniLMEmbeddings"


def test_onnx_vectors_agree_with_torch_and_rank_passages_the_same() -> None:
    onnx, torch = embeddings_default(), embeddings_local(runtime="torch")
    onnx_docs = np.array(onnx.embed_documents(TEXTS))
    torch_docs = np.array(torch.embed_documents(TEXTS))
    assert onnx_docs.shape == (len(TEXTS), settings.EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(onnx_docs, axis=1), 1.0, atol=1e-4)
    assert (onnx_docs * torch_docs).sum(axis=1).min() > 0.97
    for query in QUERIES:
        onnx_best = np.argmax(onnx_docs @ np.array(onnx.embed_query(query)))
        torch_best = np.argmax(torch_docs @ np.array(torch.embed_query(query)))
        assert onnx_best == torch_best


def test_a_documents_vectors_come_back_in_the_order_given() -> None:
    # Texts are batched by length; each vector must still land at its own text's place.
    onnx = embeddings_default()
    together = np.array(onnx.embed_documents(TEXTS))
    alone = np.array([onnx.embed_query(text) for text in TEXTS])
    assert (together * alone).sum(axis=1).min() > 0.97
