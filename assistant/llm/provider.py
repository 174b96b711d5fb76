"""What every answer provider speaks: the passages and turns it is given, the usage it
reports, its protocol and the sentence for nothing found."""

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from workspaces.search.retrieval import RetrievedChunk


@dataclass(frozen=True)
class Passage:
    number: int
    chunk: RetrievedChunk


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass
class Usage:
    """What a provider reports after its last token."""

    model: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    # Sentences each cited passage was quoted for (passage number -> sentences).
    quotes: dict[int, list[str]] = field(default_factory=dict)
    # False when the provider found nothing relevant and said so; `refusal` then says why
    # (an assistant.models.RefusalReason value).
    answered: bool = True
    refusal: str = ""


@dataclass
class Prepared:
    question: str
    passages: Sequence[Passage]
    history: Sequence[Turn]
    plan: object = None  # whatever the provider worked out in prepare()


class ProviderError(Exception):
    """A model call failed; `reason` is shown to the user as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AnswerProvider(Protocol):
    name: str

    @property
    def model(self) -> str:
        """The model that answers (part of a cached answer's key)."""
        ...

    @property
    def prompt_version(self) -> str:
        """Changes whenever the way an answer is made from the passages changes: a cached
        answer is keyed by it."""
        ...

    # What the last `acondense` cost, when it called a model.
    condense_usage: Usage | None

    async def acondense(self, *, question: str, history: Sequence[Turn]) -> str: ...

    def prepare(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        language: str,
        # The workspaces searched: a provider that weighs words by their statistics reads
        # these workspaces' only, never one the reader may not read.
        workspace_ids: Sequence[int],
        question_vector: Sequence[float] | None = None,
        original: str = "",
    ) -> Prepared: ...

    def astream(self, prepared: Prepared) -> AsyncIterator[str | Usage]: ...


NOT_FOUND = (
    "I could not find anything about this in the knowledge base, so I will not guess. "
    "Try other words, or ask whoever maintains the documents to add it."
)


def version_of(*parts: object) -> str:
    """A short fingerprint of whatever shapes an answer (a prompt, its settings)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]
