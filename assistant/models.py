from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from workspaces.models import Document, Workspace


class Chunk(models.Model):
    """A passage of a document: what retrieval finds and answers cite."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from the document so retrieval filters by workspace without a join.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    page = models.PositiveIntegerField(null=True, blank=True)
    heading_path = models.CharField(max_length=1000, blank=True)
    token_count = models.PositiveIntegerField()
    # Lexeme occurrences in `search`: the document length of BM25.
    lexeme_count = models.PositiveIntegerField(default=0)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS)
    # heading path (weight A) + text, in the workspace's text-search configuration.
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="one_chunk_per_ordinal")
        ]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(name="chunk_search_gin", fields=["search"]),
            models.Index(fields=["workspace"], name="chunk_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class TermStat(models.Model):
    """How many chunks of this organization contain a lexeme: BM25's document frequency.
    Kept by ingestion in the transaction that swaps a document's chunks."""

    lexeme = models.TextField(primary_key=True)
    chunk_count = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.chunk_count}"


class CorpusStat(models.Model):
    """One row: the organization's chunk count and total lexeme occurrences (BM25's N and
    average document length)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    chunk_count = models.BigIntegerField(default=0)
    lexeme_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.chunk_count} chunks"
