"""Sections -> overlapping chunks measured in the embedding model's tokens."""

from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from workspaces.embeddings import tokenizer_get
from workspaces.ingestion.parsing import Section

HEADING_SEPARATOR = " › "
# No "" separator: a chunk may run long rather than end inside a word.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "]


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    page: int | None
    heading_path: str
    token_count: int

    @property
    def embedding_text(self) -> str:
        """What the embedding model reads: the heading path gives a passage its context."""
        return f"{self.heading_path}\n\n{self.text}" if self.heading_path else self.text


def token_count(text: str) -> int:
    # verbose=False: counting a long section is fine; only the model truncates at 256.
    return len(tokenizer_get().encode(text, add_special_tokens=False, verbose=False))


def _splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.CHUNK_TOKENS,
        chunk_overlap=settings.CHUNK_OVERLAP_TOKENS,
        length_function=token_count,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def sections_chunk(sections: list[Section]) -> list[ChunkDraft]:
    """Consecutive sections of one page and heading are joined, then split; a chunk never
    spans two pages or two headings, so its citation stays exact."""
    splitter = _splitter()
    drafts: list[ChunkDraft] = []
    for (page, heading_path), group in groupby(sections, key=lambda s: (s.page, s.heading_path)):
        body = "\n".join(section.text for section in group)
        for text in splitter.split_text(body):
            drafts.append(
                ChunkDraft(
                    ordinal=len(drafts),
                    text=text,
                    page=page,
                    heading_path=HEADING_SEPARATOR.join(heading_path),
                    token_count=token_count(text),
                )
            )
    return drafts
