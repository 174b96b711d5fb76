from django.contrib import admin
from django.http import HttpRequest

from integrations.directory.models import SlackTeam


@admin.register(SlackTeam)
class SlackTeamAdmin(admin.ModelAdmin[SlackTeam]):
    """Which organization each Slack team is connected to, for the platform operator. Read
    only: an install is made and removed by the organization's owners and admins (or by
    Slack), with its token and audit event in the organization's schema."""

    list_display = ["team_id", "organization", "created_at"]
    search_fields = ["team_id", "organization__name", "organization__slug"]
    readonly_fields = ["team_id", "organization", "bot_user_id", "bot_id", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SlackTeam | None = None) -> bool:
        return False
