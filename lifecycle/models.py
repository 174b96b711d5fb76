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
