"""Writes on API keys: create (the secret returned once) and revoke, each audited."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from api.key_format import KEY_PREFIX, secret_hash
from api.models import ApiKey, Scope
from audit.models import AuditAction
from audit.services import audit_record
from workspaces.access import workspace_ids_manageable
from workspaces.models import Workspace, WorkspaceRole
from workspaces.services import grant_set

# Service accounts' addresses: the reserved .invalid top-level domain never receives mail.
SERVICE_ACCOUNT_DOMAIN = "api-keys.invalid"


class ApiKeyError(Exception):
    """A refused action on a key; the message is shown as is."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the whole key, shown once and never stored


def _ensure_manager(actor: User) -> None:
    if not actor.can_manage_members:
        raise ApiKeyError("Only owners and admins manage API keys.")


@transaction.atomic
def api_key_create(
    *,
    actor: User,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None = None,
    workspace_ids: Sequence[int] = (),
    level: str = WorkspaceRole.VIEWER,
) -> IssuedKey:
    """A key with its own service account, granted `level` on the chosen workspaces (those
    the actor manages) through the workspaces' grants, as a person would be."""
    _ensure_manager(actor)
    name = " ".join(name.split())[:100]
    if not name:
        raise ApiKeyError("Give the key a name, such as the tool that will use it.")
    chosen = sorted({scope for scope in scopes if scope in Scope.values})
    if not chosen:
        raise ApiKeyError("Choose at least one scope.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiKeyError("The expiry date must be in the future.")
    if level not in (WorkspaceRole.VIEWER, WorkspaceRole.EDITOR):
        raise ApiKeyError("A key may be a viewer or an editor of workspaces.")
    workspaces = list(
        Workspace.objects.filter(
            id__in=workspace_ids_manageable(user=actor, within=list(workspace_ids))
        ).order_by("name")
    )
    if not workspaces:
        # A key reaches only the workspaces granted to it (open ones included): with none it
        # could authenticate and do nothing, which looks like a broken key to its user.
        raise ApiKeyError(
            "Choose at least one workspace you manage: a key without one can read nothing."
        )
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    account = User.objects.create_user(
        email=f"key-{prefix}@{SERVICE_ACCOUNT_DOMAIN}",
        password=None,  # unusable: a service account never signs in
        full_name=f"API key: {name}"[:150],
        role=Role.MEMBER,
        is_service_account=True,
    )
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=secret_hash(secret),
        scopes=chosen,
        service_account=account,
        created_by=actor,
        expires_at=expires_at,
    )
    for workspace in workspaces:
        grant_set(actor=actor, workspace=workspace, role=level, grantee=account)
    audit_record(
        actor=actor, action=AuditAction.API_KEY_CREATED, target=key, target_label=name,
        details={
            "prefix": prefix, "scopes": chosen, "level": level,
            "workspaces": [workspace.name for workspace in workspaces],
            "expires": expires_at.isoformat() if expires_at else None,
        },
    )  # fmt: skip
    return IssuedKey(key=key, secret=secret)


@transaction.atomic
def api_key_revoke(*, actor: User, key: ApiKey) -> ApiKey:
    """The key stops working at once; its service account is deactivated, so the access
    policy gives it nothing even if a grant is left behind."""
    _ensure_manager(actor)
    key = ApiKey.objects.select_for_update().select_related("service_account").get(pk=key.pk)
    if key.revoked_at is None:
        _revoke(actor=actor, key=key, details={"prefix": key.prefix})
    return key


@transaction.atomic
def api_keys_revoke_made_by(*, actor: User | None, maker: User, actor_label: str = "") -> int:
    """Revoke the usable keys `maker` made, now that they were removed or no longer manage
    the organization: a key acts on its maker's authority, so it does not outlive it (a key
    that did would be access nobody present answers for). Returns how many were revoked."""
    keys = (
        ApiKey.objects.select_for_update()
        .select_related("service_account")
        .filter(created_by=maker, revoked_at=None)
        .exclude(expires_at__lte=timezone.now())
    )
    revoked = 0
    for key in keys:
        _revoke(
            actor=actor, actor_label=actor_label, key=key,
            details={"prefix": key.prefix, "reason": f"its maker {maker.email} lost the right"},
        )  # fmt: skip
        revoked += 1
    return revoked


def _revoke(
    *, actor: User | None, key: ApiKey, details: dict[str, str], actor_label: str = ""
) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    key.service_account.is_active = False
    key.service_account.save(update_fields=["is_active"])
    audit_record(
        actor=actor, actor_label=actor_label, action=AuditAction.API_KEY_REVOKED, target=key,
        target_label=key.name, details=details,
    )  # fmt: skip


def api_key_touch(*, key: ApiKey) -> None:
    """Record a use, at most once a minute per key (a busy key does not write every call)."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
