"""How every Google Cloud client of ours reaches Vertex AI: the chat model
(assistant.llm.vertex), the embedding model (workspaces.embedding.model) and the ranking API
(workspaces.search.rerank). Credentials are Application Default Credentials (Cloud Run's service
account) unless VERTEX_ACCESS_TOKEN is set, in which case that bearer token is sent as is
(the local Vertex-format server, tests)."""

from typing import Any

from django.conf import settings


def google_credentials() -> dict[str, Any]:
    """The `credentials` keyword of a Google client: none (ADC) or the static token."""
    if not settings.VERTEX_ACCESS_TOKEN:
        return {}
    from google.oauth2.credentials import Credentials

    return {"credentials": Credentials(token=settings.VERTEX_ACCESS_TOKEN)}  # type: ignore[no-untyped-call]


def vertex_model_options(model: str) -> dict[str, Any]:
    """The options a langchain-google-genai model on Vertex AI is built with: the model, the
    project and location, the credentials, and VERTEX_BASE_URL when another server stands in."""
    options: dict[str, Any] = {
        "model": model,
        "vertexai": True,
        "project": settings.VERTEX_PROJECT,
        "location": settings.VERTEX_LOCATION,
        **google_credentials(),
    }
    if settings.VERTEX_BASE_URL:
        options["base_url"] = settings.VERTEX_BASE_URL
    return options
