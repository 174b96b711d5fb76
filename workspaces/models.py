from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField


class Language(models.TextChoices):
    """PostgreSQL text-search configurations offered for a workspace's full-text index."""

    ENGLISH = "english", "English"
    SIMPLE = "simple", "Simple (mixed languages, no stemming)"
    FRENCH = "french", "French"
    GERMAN = "german", "German"
    SPANISH = "spanish", "Spanish"
    PORTUGUESE = "portuguese", "Portuguese"
    ITALIAN = "italian", "Italian"
    DUTCH = "dutch", "Dutch"


class WorkspaceRole(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    MANAGER = "manager", "Manager"


ROLE_RANK = {WorkspaceRole.VIEWER: 1, WorkspaceRole.EDITOR: 2, WorkspaceRole.MANAGER: 3}


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=20, choices=Language.choices, default=Language.ENGLISH)
    is_open = models.BooleanField(
        default=False, help_text="Every member of the organization may read it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves on whenever a document of the workspace is added, replaced, renamed, indexed,
    # failed or deleted (workspaces.index_version): cached answers are keyed by it.
    index_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkspaceGrant(models.Model):
    """A role on a workspace, for one user or for every member of a group."""

    # one_grant_per_user and one_grant_per_group lead with the workspace: no index of its own.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="grants", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=10, choices=WorkspaceRole.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="grant_to_user_xor_group",
            ),
            models.UniqueConstraint(fields=["workspace", "user"], name="one_grant_per_user"),
            models.UniqueConstraint(fields=["workspace", "group"], name="one_grant_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.role} on {self.workspace_id}"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PARSING = "parsing", "Parsing"
    EMBEDDING = "embedding", "Embedding"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DocumentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    DOCX = "docx", "Word"
    HTML = "html", "HTML"
    MARKDOWN = "markdown", "Markdown"
    TEXT = "text", "Text"
    XLSX = "xlsx", "Excel"
    CSV = "csv", "CSV"
    PPTX = "pptx", "PowerPoint"


def document_upload_path(document: "Document", filename: str) -> str:
    # The schema name keeps organizations' files apart in one bucket or folder.
    from tenants.schemas import schema_name_current

    workspace, digest = document.workspace_id, document.sha256
    return f"{schema_name_current()}/documents/{workspace}/{digest[:2]}/{digest}"


class Document(models.Model):
    # one_copy_per_workspace and the (workspace, status) index lead with it: no index of its own.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="documents", db_index=False
    )
    title = models.CharField(max_length=300)
    # Set by a person (given at upload or renamed): ingestion then keeps it instead of the
    # title the file carries in its metadata.
    title_is_custom = models.BooleanField(default=False)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=DocumentKind.choices)
    file = models.FileField(upload_to=document_upload_path, max_length=500)
    # The replaced version's stored file, deleted once the new version's chunks are in.
    previous_file = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveIntegerField(null=True, blank=True)
    # Pages read by OCR: {"<page>": mean recognition confidence 0-1}.
    ocr_confidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED
    )
    error = models.TextField(blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Times the ingestion task started since the document was last queued: counted in the
    # row, not the message, because a worker that dies loses whatever it held in memory.
    deliveries = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    # Normalised (workspaces.tags): retrieval narrows to documents whose tags overlap the
    # chosen ones (`tags && ARRAY[...]`) through the GIN index, inside the retrieval SQL.
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where a synced document lives at its source (connectors/): the documents list and
    # citations link to it. Empty for an upload.
    source_url = models.URLField(max_length=2000, blank=True)
    # The source's readers, for a document synced from a source whose permissions are
    # mirrored (workspaces.readers): when `readers_restricted`, only a person whose address
    # is in `reader_emails`, whose domain is in `reader_domains` or who is a member of a
    # group in `reader_groups` (SourceGroup keys) reads it, and only within the workspace's
    # grants (workspaces.access). Not restricted (an upload, a public page): the workspace's
    # grants alone decide. Addresses and domains are kept in lower case.
    readers_restricted = models.BooleanField(default=False)
    reader_emails = ArrayField(models.CharField(max_length=254), default=list, blank=True)
    reader_groups = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    reader_domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="one_copy_per_workspace")
        ]
        indexes = [
            models.Index(fields=["workspace", "status"]),
            GinIndex(name="document_tags_gin", fields=["tags"]),
            # The access policy looks for the restricted documents of the workspaces read:
            # few or none in most organizations.
            models.Index(
                fields=["workspace"],
                condition=Q(readers_restricted=True),
                name="document_restricted",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        return self.status in (DocumentStatus.READY, DocumentStatus.FAILED)

    @property
    def ocr_low_confidence_pages(self) -> list[int]:
        """Pages whose OCR text may be wrong enough to mislead: worth checking by eye."""
        threshold = settings.OCR_LOW_CONFIDENCE
        return sorted(int(page) for page, score in self.ocr_confidence.items() if score < threshold)

    @property
    def progress_percent(self) -> int:
        if self.status == DocumentStatus.READY:
            return 100
        if not self.chunks_total:
            return 0
        return int(100 * self.chunks_done / self.chunks_total)


class SourceGroup(models.Model):
    """A group at a source (a Google group), with its members as the source last said,
    for the documents whose readers name it. `key`: the source's kind and its id there
    ("google_drive:team@example.com"); members: lower-case addresses."""

    key = models.CharField(max_length=300, unique=True)
    members = ArrayField(models.CharField(max_length=254), default=list, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [GinIndex(name="source_group_members_gin", fields=["members"])]

    def __str__(self) -> str:
        return self.key


class Chunk(models.Model):
    """A passage of a document: what retrieval finds and answers cite."""

    # one_chunk_per_ordinal leads with the document, chunk_workspace is the workspace's index.
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="chunks", db_index=False
    )
    # Denormalised from the document so retrieval filters by workspace without a join.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
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
        db_table = "assistant_chunk"  # created by the assistant app before it moved here
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
    """How many chunks of a workspace contain a lexeme: BM25's document frequency, summed
    at query time over the workspaces searched (workspaces.search.term_stats). Kept by ingestion
    in the transaction that swaps a document's chunks."""

    pk = models.CompositePrimaryKey("workspace", "lexeme")
    # The primary key's index leads with the workspace: no index of its own.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Byte-wise order, so that the primary key's index also serves the prefix ranges of
    # term_variants.
    lexeme = models.TextField(db_collation="C")
    chunk_count = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.lexeme} in {self.workspace_id}: {self.chunk_count}"


class CorpusStat(models.Model):
    """A workspace's chunk count and total lexeme occurrences (BM25's N and average
    document length, summed at query time over the workspaces searched)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    chunk_count = models.BigIntegerField(default=0)
    lexeme_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.chunk_count} chunks in {self.workspace_id}"


class EmbeddingIndex(models.Model):
    """One row: which embedding model made this organization's chunk vectors, and the
    re-embedding under way to another (workspaces.embedding.change)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # A key of workspaces.embedding.model.embedding_models_offered(): what queries are embedded
    # with, because it is what every chunk's `embedding` holds.
    model = models.CharField(max_length=40)
    # Set while every chunk is embedded again with another model into ChunkEmbedding;
    # cleared by the switch (or a cancel).
    target = models.CharField(max_length=40, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Why the re-embedding stopped, for the admin who can retry it.
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField(null=True, blank=True)
    switched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.model + (f" -> {self.target}" if self.target else "")

    @property
    def progress_percent(self) -> int:
        if not self.chunks_total:
            return 0
        return min(100, int(100 * self.chunks_done / self.chunks_total))


class ChunkEmbedding(models.Model):
    """A chunk's vector from the model a re-embedding moves to (EmbeddingIndex.target),
    kept aside until every chunk has one; then copied into Chunk.embedding at once."""

    chunk = models.OneToOneField(
        Chunk, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS)

    def __str__(self) -> str:
        return f"next vector of {self.chunk_id}"
