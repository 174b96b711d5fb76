"""Answer providers: the only place that imports LangChain chat models.

A provider gets the question and numbered passages and streams the answer's text; markers
`[n]` in the text refer to passage numbers. `prepare` runs synchronously inside the
organization's schema (it may read the database); `astream` only does network or CPU work.
"""

from assistant.llm.provider import (
    NOT_FOUND,
    AnswerProvider,
    Passage,
    Prepared,
    ProviderError,
    Turn,
    Usage,
    version_of,
)

__all__ = [
    "NOT_FOUND", "AnswerProvider", "Passage", "Prepared", "ProviderError", "Turn", "Usage",
    "provider_get", "version_of",
]  # fmt: skip


def provider_get(name: str) -> AnswerProvider:
    if name == "extractive":
        from assistant.llm.extractive import ExtractiveProvider

        return ExtractiveProvider()
    if name == "vertex":
        from assistant.llm.vertex import VertexProvider

        return VertexProvider()
    raise ValueError(f"unknown answer provider {name!r}; use 'extractive' or 'vertex'")
