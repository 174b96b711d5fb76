"""Writes on the Slack app's install: completing the OAuth v2 install, choosing what it may
search, and removing it (from the Members -> Integrations page, or because Slack said the
app was uninstalled or its token revoked). Each is audited in its own transaction."""

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from slack_sdk.errors import SlackApiError

from accounts.models import User
from accounts.secrets_at_rest import SecretUnreadable
from audit.models import AuditAction
from audit.services import audit_record
from integrations.directory.models import SlackTeam
from integrations.models import SlackInstallation
from integrations.selectors import installation_get
from integrations.slack_client import slack_client
from integrations.token_vault import token_decrypt, token_encrypt
from tenants.models import Organization
from tenants.schemas import tenant_current
from workspaces.access import workspace_ids_manageable

logger = logging.getLogger(__name__)

# What the app asks of a Slack workspace (also in integrations/slack-manifest.yaml).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "commands",
    "groups:history",
    "im:history",
    "im:write",
    "users:read",
    "users:read.email",
)


class SlackInstallRefused(Exception):
    """The install cannot be completed or changed; the message says why, for the person."""


def _ensure_manager(actor: User) -> None:
    if not actor.can_manage_members:
        raise SlackInstallRefused("Only owners and admins manage the Slack app.")


def slack_install_complete(
    *,
    actor: User,
    code: str,
    redirect_uri: str,
    workspace_ids: Sequence[int],
    site_root: str,
) -> SlackInstallation:
    """Trade the OAuth code for the bot token (oauth.v2.access), then record the install:
    the Slack team's route to this organization (public schema) and the install with its
    token, encrypted, and the workspaces it may search (this schema), with the audit event.
    A Slack team connected to another organization is refused; so is a second team here."""
    _ensure_manager(actor)
    try:
        granted = slack_client().oauth_v2_access(
            client_id=settings.SLACK_OAUTH_CLIENT_ID,
            client_secret=settings.SLACK_OAUTH_CLIENT_SECRET,
            code=code,
            redirect_uri=redirect_uri,
        )
    except SlackApiError as error:
        reason = error.response.get("error", "no reason given")
        raise SlackInstallRefused(
            f"Slack did not confirm the install ({reason}). Try “Add to Slack” again."
        ) from error
    team_id, team_name = granted["team"]["id"], granted["team"].get("name") or granted["team"]["id"]
    organization: Organization = tenant_current()
    chosen = list(workspace_ids_manageable(user=actor, within=list(workspace_ids)))
    try:
        with transaction.atomic():
            return _installation_store(
                actor=actor, organization=organization, granted=dict(granted.data),  # type: ignore[arg-type]
                team=(team_id, team_name), workspace_ids=chosen, site_root=site_root,
            )  # fmt: skip
    except IntegrityError as error:
        # Another organization claimed the team between the check and the write.
        raise _claimed_elsewhere(team_name) from error


def _claimed_elsewhere(team_name: str) -> SlackInstallRefused:
    return SlackInstallRefused(
        f"The Slack workspace “{team_name}” is already connected to another organization. "
        "One Slack workspace can serve one organization: remove the app there first."
    )


def _installation_store(
    *,
    actor: User,
    organization: Organization,
    granted: dict[str, Any],
    team: tuple[str, str],
    workspace_ids: list[int],
    site_root: str,
) -> SlackInstallation:
    team_id, team_name = team
    if SlackTeam.objects.filter(team_id=team_id).exclude(organization=organization).exists():
        raise _claimed_elsewhere(team_name)
    current = installation_get()
    if current is not None and current.team_id != team_id:
        raise SlackInstallRefused(
            f"This organization is connected to the Slack workspace “{current.team_name}”. "
            "Remove the app first to connect another."
        )
    bot_user_id = str(granted.get("bot_user_id") or "")
    bot_id = str(granted.get("bot_id") or "")
    SlackTeam.objects.update_or_create(
        organization=organization,
        defaults={"team_id": team_id, "bot_user_id": bot_user_id, "bot_id": bot_id},
    )
    installation, _ = SlackInstallation.objects.update_or_create(
        team_id=team_id,
        defaults={
            "team_name": team_name,
            "bot_user_id": bot_user_id,
            "bot_id": bot_id,
            "bot_token_encrypted": token_encrypt(str(granted["access_token"])),
            "scopes": str(granted.get("scope") or ""),
            "site_root": site_root,
            "installed_by": actor,
        },
    )
    installation.workspaces.set(workspace_ids)
    audit_record(
        actor=actor,
        action=AuditAction.SLACK_INSTALLED,
        target=installation,
        target_label=f"Slack workspace {team_name}",
        details={"team_id": team_id, "workspaces": workspace_ids},
    )
    return installation


@transaction.atomic
def slack_workspaces_set(
    *, actor: User, installation: SlackInstallation, workspace_ids: Sequence[int]
) -> SlackInstallation:
    _ensure_manager(actor)
    chosen = list(workspace_ids_manageable(user=actor, within=list(workspace_ids)))
    installation.workspaces.set(chosen)
    audit_record(
        actor=actor,
        action=AuditAction.SLACK_WORKSPACES_CHANGED,
        target=installation,
        target_label=f"Slack workspace {installation.team_name}",
        details={"workspaces": chosen},
    )
    return installation


def slack_uninstall(*, actor: User, installation: SlackInstallation) -> None:
    """Remove the app from this organization: its token is revoked at Slack (auth.revoke;
    a token Slack already revoked is no obstacle) and the install and route deleted."""
    _ensure_manager(actor)
    try:
        slack_client(token_decrypt(installation.bot_token_encrypted)).auth_revoke()
    except SlackApiError as error:
        logger.info("Slack token already unusable: %s", error.response.get("error"))
    except SecretUnreadable as refusal:
        # Removing the app must not depend on the key: Slack's side is then removed there.
        logger.warning("Slack token not revoked at Slack: %s", refusal)
    _installation_delete(actor=actor, installation=installation, reason="removed on the page")


def slack_team_forget(*, organization: Organization, team_id: str, reason: str) -> None:
    """Slack said the app is gone from the team (app_uninstalled, tokens_revoked): remove
    the install, audited as the system's act. Runs with the organization's schema in force."""
    installation = SlackInstallation.objects.filter(team_id=team_id).first()
    if installation is None:
        SlackTeam.objects.filter(team_id=team_id, organization=organization).delete()
        return
    _installation_delete(actor=None, installation=installation, reason=reason)


@transaction.atomic
def _installation_delete(
    *, actor: User | None, installation: SlackInstallation, reason: str
) -> None:
    SlackTeam.objects.filter(team_id=installation.team_id).delete()
    audit_record(
        actor=actor,
        action=AuditAction.SLACK_UNINSTALLED,
        target=installation,
        target_label=f"Slack workspace {installation.team_name}",
        details={"team_id": installation.team_id, "reason": reason},
    )
    installation.delete()
