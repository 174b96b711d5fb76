from collections.abc import Iterator
from typing import Any

import pytest

from localdev.vertex_server import VertexLocalServer


@pytest.fixture
def vertex(settings: Any) -> Iterator[VertexLocalServer]:
    """Vertex AI offered as an embedding model, served by the local Vertex-format server;
    each request tried twice, re-embedding two passages a batch."""
    server = VertexLocalServer().start()
    settings.VERTEX_BASE_URL = server.base_url
    settings.VERTEX_ACCESS_TOKEN = "test-token"
    settings.VERTEX_PROJECT = "test-project"
    settings.VERTEX_EMBEDDING_BATCH_SIZE = 50
    settings.VERTEX_EMBEDDING_ATTEMPTS = 2
    settings.VERTEX_EMBEDDING_BACKOFF_SECONDS = 0.01
    settings.REEMBED_BATCH_SIZE = 2
    yield server
    server.stop()
