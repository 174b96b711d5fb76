"""API keys: per organization (tenant schema), each acting as its own service account."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read: workspaces, documents, search"
    ASK = "ask", "Ask: questions, conversations, feedback"
    INGEST = "ingest", "Ingest: upload, replace and delete documents"
    # With it, a key that may edit a workspace connects, syncs and removes its sources
    # (workspaces.access.sources_manageable); their credentials go in and never come out.
    SOURCES = "sources", "Sources: connect, sync and remove a workspace's sources"


class ApiKey(models.Model):
    """A secret shown once at creation; only its SHA-256 and a prefix (to find it and to
    show it) are kept. What it may read or edit is what its service account is granted on
    workspaces, through the access policy that people go through."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=10, choices=Scope.choices), default=list)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key"
    )
    # Few rows an organization: a user's deletion reads the table whole, no index needed.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def scope_labels(self) -> list[str]:
        return [Scope(scope).name.lower() for scope in self.scopes if scope in Scope.values]
