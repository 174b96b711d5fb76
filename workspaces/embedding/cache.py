"""A disk cache of embeddings keyed by content hash, for re-runs over the same corpus
(the evaluation command): a second run of a dataset does not embed it again."""

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings


class CachedEmbeddings(Embeddings):
    def __init__(self, inner: Embeddings, path: Path, model_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.inner, self.model_id = inner, model_id
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, vector BLOB)")
        self.hits = self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\0{text}".encode()).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(text) for text in texts]
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self.db.execute(
                f"SELECT key, vector FROM embedding WHERE key IN ({marks})",  # noqa: S608 (only ?s)
                batch,
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
        missing = [(key, text) for key, text in zip(keys, texts, strict=True) if key not in found]
        if missing:
            vectors = self.inner.embed_documents([text for _, text in missing])
            for (key, _), vector in zip(missing, vectors, strict=True):
                found[key] = vector
            self.db.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?)",
                [(key, np.asarray(found[key], dtype=np.float32).tobytes()) for key, _ in missing],
            )
            self.db.commit()
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return [found[key] for key in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
