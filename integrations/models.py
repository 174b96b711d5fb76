"""The Slack app's install in an organization (its schema), and the Slack threads that are
conversations. The public schema's integrations.directory.SlackTeam routes a team here."""

from django.conf import settings
from django.db import models

from assistant.models import Conversation
from workspaces.models import Workspace


class SlackInstallation(models.Model):
    """At most one per organization (one Slack workspace maps to one organization)."""

    team_id = models.CharField(max_length=32, unique=True)
    team_name = models.CharField(max_length=200)
    bot_user_id = models.CharField(max_length=32)
    bot_id = models.CharField(max_length=32, blank=True)
    # The bot token, Fernet-encrypted (integrations.token_vault); never shown or logged.
    bot_token_encrypted = models.TextField()
    scopes = models.CharField(max_length=1000, blank=True)
    # The workspaces the app may search: for each asker, the part of them they may read.
    workspaces = models.ManyToManyField(Workspace, blank=True, related_name="+")
    # Where links in answers point (the organization's scheme and host, from the install).
    site_root = models.CharField(max_length=300)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    installed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Slack: {self.team_name}"


class SlackThread(models.Model):
    """A Slack thread in which a member asked: their follow-ups there continue the same
    conversation. Conversations are private to one person, so each asker in a thread has
    their own."""

    channel_id = models.CharField(max_length=32)
    thread_ts = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_id", "thread_ts", "user"], name="one_conversation_per_thread_asker"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.thread_ts}"
