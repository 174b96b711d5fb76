from django.conf import settings
from django.db import models


class RetentionPolicy(models.Model):
    """How long the organization keeps conversations and answer feedback; one row at most
    (none: both kept forever). Applied daily by lifecycle.tasks.retention_apply_task."""

    # One row per schema: the unique constant makes a second one an IntegrityError.
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    # None keeps them forever; otherwise what has not changed for this many days goes.
    conversation_days = models.PositiveIntegerField(null=True, blank=True)
    feedback_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_conversations = models.PositiveIntegerField(default=0)
    last_run_feedback = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Conversations {self.conversation_days}, feedback {self.feedback_days} days"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Writing the archive"
    READY = "ready", "Ready to download"
    DOWNLOADED = "downloaded", "Downloaded"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class DataExport(models.Model):
    """An archive of all the organization's data (lifecycle.export), written by a Celery
    task into the private file storage and downloadable once, through a signed link that
    expires; then the file is deleted."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(max_length=12, choices=ExportStatus.choices, default="queued")
    # The archive's name in the default storage; "" until written and once deleted.
    file_name = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # What the archive holds, per file of it: {"documents.jsonl": 500, ...}.
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status})"

    @property
    def is_busy(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def is_downloadable(self) -> bool:
        return self.status == ExportStatus.READY
