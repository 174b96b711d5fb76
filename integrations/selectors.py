"""Reads for the Slack app: the organization a Slack team belongs to (public schema), the
install in the organization in force, and who a Slack user is here."""

from allauth.account.models import EmailAddress
from django.db.models import QuerySet

from accounts.models import User
from integrations.directory.models import SlackTeam
from integrations.models import SlackInstallation, SlackThread
from workspaces.access import workspace_ids_readable
from workspaces.models import Workspace


def slack_team_get(*, team_id: str) -> SlackTeam | None:
    return SlackTeam.objects.select_related("organization").filter(team_id=team_id).first()


def installation_get() -> SlackInstallation | None:
    """The organization's install (the schema in force), if the app is installed."""
    return SlackInstallation.objects.select_related("installed_by").first()


def installation_workspaces(*, installation: SlackInstallation) -> QuerySet[Workspace]:
    return installation.workspaces.order_by("name")


def member_by_verified_email(*, email: str) -> User | None:
    """The active member whose address `email` is verified here. Slack vouches for the
    address on its side; ours must be verified too, or someone could add an address they do
    not own to their account and be taken for its owner in Slack."""
    if not email:
        return None
    address = (
        EmailAddress.objects.filter(
            email__iexact=email,
            verified=True,
            user__is_active=True,
            user__is_service_account=False,
        )
        .select_related("user")
        .first()
    )
    return address.user if address is not None else None


def slack_scope_readable(*, installation: SlackInstallation, user: User) -> list[int]:
    """The workspaces an answer in Slack searches for `user`: those the app may search that
    `user` may read (the access policy, in SQL)."""
    chosen = installation.workspaces.values_list("id", flat=True)
    return sorted(workspace_ids_readable(user=user, within=list(chosen)))


def slack_thread_get(*, channel_id: str, thread_ts: str, user: User) -> SlackThread | None:
    return (
        SlackThread.objects.select_related("conversation")
        .filter(channel_id=channel_id, thread_ts=thread_ts, user=user)
        .first()
    )


def slack_thread_known(*, channel_id: str, thread_ts: str) -> bool:
    """Whether someone asked in this thread (a reply there without a mention is a follow-up)."""
    return SlackThread.objects.filter(channel_id=channel_id, thread_ts=thread_ts).exists()
