"""What the api app does when members tells of a change it cannot call the api app for."""

from typing import Any

from accounts.models import User
from api.services import api_keys_revoke_made_by


def keys_revoke_on_authority_withdrawn(
    *, actor: User | None, member: User, actor_label: str = "", **_: Any
) -> int:
    return api_keys_revoke_made_by(actor=actor, actor_label=actor_label, maker=member)
