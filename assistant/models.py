from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from pgvector.django import VectorField

from workspaces.models import Chunk, Document, Workspace
from workspaces.search.retrieval import RetrievalFilters


class Conversation(models.Model):
    """A user's thread of questions and answers; private to that user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    # The workspaces the user chose to search; empty means every workspace they may read
    # (checked again at each question: a grant removed since then no longer counts).
    scope = models.ManyToManyField(Workspace, blank=True, related_name="+")
    # Answered where others read the answers too (a Slack channel's thread): answered only
    # from documents without readers of their own (workspaces.access.readers_allow, shared).
    in_channel = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    STREAMING = "streaming", "Streaming"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"
    STOPPED = "stopped", "Stopped"


class GapStatus(models.TextChoices):
    """What a reviewer made of an unanswered question on the knowledge-gap page, or
    `answered`: documents indexed since answer it (assistant.gaps.gaps_recheck)."""

    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"
    ANSWERED = "answered", "Answered by a later document"


class RefusalReason(models.TextChoices):
    """Why an answer found nothing, recorded when it was given (the knowledge-gaps page)."""

    NOTHING_RETRIEVED = "nothing_retrieved", "No passage of the searched documents matched it"
    NOT_ANSWERED = "not_answered", "The closest passages did not answer it"
    OTHER_LANGUAGE = "other_language", "It was asked in another language than the workspace's"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    text = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.DONE
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    # The question this answer replies to, as condensed with the conversation for retrieval.
    search_query = models.TextField(blank=True)
    # The workspaces actually searched (the readable part of the scope at the time): who may
    # review the answer's feedback, and where a knowledge gap lies.
    searched_workspace_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # The filters chosen with the question (workspaces.search.retrieval.RetrievalFilters.as_dict):
    # the answer searches only within them, and shows them.
    search_filters = models.JSONField(default=dict, blank=True)
    # The search query's embedding, kept so the knowledge-gap page groups unanswered
    # questions without embedding them again on every view.
    search_embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)
    # False when the knowledge base had nothing relevant and the answer says so.
    answered = models.BooleanField(default=True)
    # Whether this answer's question was counted against the plan's question cap: not when
    # there was nothing to search, and given back when the answer found nothing.
    counted = models.BooleanField(default=False)
    # Why an answer that found nothing found nothing ("" for an answer).
    refusal_reason = models.CharField(max_length=20, choices=RefusalReason.choices, blank=True)
    gap_status = models.CharField(max_length=10, choices=GapStatus.choices, default=GapStatus.OPEN)
    provider = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=100, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    # What the model calls for this answer cost at the prices in settings (follow-up
    # condensing included), in millionths of a US dollar: the per-answer usage ledger.
    cost_micros = models.PositiveBigIntegerField(default=0)
    # Given from the cache of a recent identical question: no model call, no model cost.
    from_cache = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role} {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            MessageStatus.DONE,
            MessageStatus.FAILED,
            MessageStatus.INTERRUPTED,
            MessageStatus.STOPPED,
        )

    @property
    def filters_summary(self) -> str:
        """The filters the answer searched within, as shown with it; "" for none."""
        return RetrievalFilters.from_dict(self.search_filters).summary()


class Citation(models.Model):
    """A numbered source of an answer. The quote and the document's title are copied so the
    citation still reads after the document is deleted (then shown as "source removed")."""

    # one_citation_per_marker leads with the message: no index of its own.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="citations", db_index=False
    )
    marker = models.PositiveSmallIntegerField()
    chunk = models.ForeignKey(Chunk, null=True, on_delete=models.SET_NULL, related_name="+")
    document = models.ForeignKey(Document, null=True, on_delete=models.SET_NULL, related_name="+")
    workspace_id_at_answer = models.BigIntegerField()
    document_title = models.CharField(max_length=300)
    page = models.PositiveIntegerField(null=True, blank=True)
    heading_path = models.CharField(max_length=1000, blank=True)
    passage_text = models.TextField()
    quote = models.TextField(blank=True)  # the cited sentences, or the passage's opening
    score = models.FloatField()
    # The cited document's readers (workspaces.Document's four fields), copied as the
    # document is deleted (assistant.citations_readers): the copies of its title and passage
    # above outlive it, and the access policy (readers_allow) keeps deciding who reads them.
    # Left as they are (not restricted) while the document lives: its own readers decide.
    readers_restricted = models.BooleanField(default=False)
    reader_emails = ArrayField(models.CharField(max_length=254), default=list, blank=True)
    reader_groups = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    reader_domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)

    class Meta:
        ordering = ["message_id", "marker"]
        constraints = [
            models.UniqueConstraint(fields=["message", "marker"], name="one_citation_per_marker")
        ]

    def __str__(self) -> str:
        return f"[{self.marker}] {self.document_title}"

    @property
    def source_removed(self) -> bool:
        return self.document_id is None


class Feedback(models.Model):
    # one_feedback_per_user leads with the message: no index of its own.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="feedback", db_index=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=[(1, "Helpful"), (-1, "Not helpful")])
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="one_feedback_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.rating:+d} on {self.message_id}"
