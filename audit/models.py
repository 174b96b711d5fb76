from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    MEMBER_INVITED = "member.invited", "Member invited"
    INVITATION_WITHDRAWN = "member.invitation_withdrawn", "Invitation withdrawn"
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_UPDATED = "member.updated", "Member details changed"
    GROUP_CREATED = "group.created", "Group created"
    GROUP_DELETED = "group.deleted", "Group deleted"
    GROUP_RENAMED = "group.renamed", "Group renamed"
    GROUP_MEMBER_ADDED = "group.member_added", "Added to group"
    GROUP_MEMBER_REMOVED = "group.member_removed", "Removed from group"
    WORKSPACE_CREATED = "workspace.created", "Workspace created"
    WORKSPACE_UPDATED = "workspace.updated", "Workspace settings changed"
    GRANT_SET = "grant.set", "Access granted"
    GRANT_REMOVED = "grant.removed", "Access removed"
    DOCUMENT_UPLOADED = "document.uploaded", "Document uploaded"
    DOCUMENT_REPLACED = "document.replaced", "Document replaced"
    DOCUMENT_RENAMED = "document.renamed", "Document renamed"
    DOCUMENT_DELETED = "document.deleted", "Document deleted"
    DOCUMENT_DOWNLOADED = "document.downloaded", "Document downloaded"
    PLAN_CHANGED = "billing.plan_changed", "Plan changed"
    SESSIONS_ENDED = "security.sessions_ended", "Other sessions signed out"
    SECURITY_SETTING_CHANGED = "security.setting_changed", "Security setting changed"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    PROVISIONING_TOKEN_CREATED = "scim.token_created", "SCIM token created"
    PROVISIONING_TOKEN_REVOKED = "scim.token_revoked", "SCIM token revoked"
    EMBEDDING_MODEL_CHANGE_STARTED = "embeddings.change_started", "Embedding model change started"
    EMBEDDING_MODEL_CHANGE_CANCELLED = (
        "embeddings.change_cancelled",
        "Embedding model change cancelled",
    )
    EMBEDDING_MODEL_SWITCHED = "embeddings.switched", "Embedding model switched"
    SLACK_INSTALLED = "integration.slack_installed", "Slack app installed"
    SLACK_UNINSTALLED = "integration.slack_uninstalled", "Slack app removed"
    SLACK_WORKSPACES_CHANGED = "integration.slack_workspaces", "Slack app's workspaces changed"
    RETENTION_CHANGED = "data.retention_changed", "Retention changed"
    RETENTION_APPLIED = "data.retention_applied", "Old conversations deleted"
    EXPORT_STARTED = "data.export_started", "Data export started"
    EXPORT_DOWNLOADED = "data.export_downloaded", "Data export downloaded"
    CONVERSATIONS_EXPORTED = "data.conversations_exported", "Own conversations exported"
    DELETION_SCHEDULED = "data.deletion_scheduled", "Organization deletion scheduled"
    DELETION_CANCELLED = "data.deletion_cancelled", "Organization deletion cancelled"
    MEMBER_ERASED = "data.member_erased", "Member's personal data erased"
    SOURCE_ADDED = "source.added", "Source added"
    SOURCE_CHANGED = "source.changed", "Source's settings changed"
    SOURCE_SYNC_REQUESTED = "source.sync_requested", "Source sync requested"
    SOURCE_REMOVED = "source.removed", "Source removed"
    SOURCE_RECONNECTED = "source.reconnected", "Source reconnected"
    SOURCE_CONSENT_FAILED = "source.consent_failed", "Source connection not granted"


class AuditEvent(models.Model):
    """Who changed what, written in the transaction of the change itself (audit.services).
    Nothing in the product edits or deletes a row; only the retention cleanup removes old ones.
    The actor's and target's names are copied in, so the record reads the same after they
    are renamed or gone."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"
