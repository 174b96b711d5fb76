import ipaddress
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.db import transaction
from django.http import HttpRequest

from accounts.throttles import client_address
from audit.models import AuditAction
from audit.services import audit_record


class OrganizationAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People join an organization by invitation only (members.views.invitation_accept);
        # organizations themselves are created on the public site.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # One client address for throttles, the audit log and the session list: REMOTE_ADDR,
        # which uvicorn sets from X-Forwarded-For of trusted proxies only. allauth refuses the
        # sign-in (403) when it finds none; a connection without a peer address (a unix socket,
        # Django's test client) is recorded as 0.0.0.0 instead.
        address = client_address(request)
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return "0.0.0.0"  # noqa: S104 (an address recorded, not bound to)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts failed sign-ins per address ("key" in ACCOUNT_RATE_LIMITS), so five
        # wrong passwords from anyone locked the account for everyone, its owner included.
        # The address and the client together: an attacker locks out only themselves.
        # allauth 65 has no "ip+key" rate; this is the key its login_failed limit uses.
        address = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{address}:{client_address(request)}"


class AuditedUserSessionsAdapter(DefaultUserSessionsAdapter):
    """allauth's "Sign out other sessions", recorded in the audit log with the sessions it
    ended, in the transaction that ends them."""

    def end_sessions(self, sessions: Any) -> None:
        sessions = list(sessions)
        if not sessions:
            return
        with transaction.atomic():
            super().end_sessions(sessions)
            for user in {session.user for session in sessions}:
                ended = [s for s in sessions if s.user_id == user.pk]
                audit_record(
                    actor=user, action=AuditAction.SESSIONS_ENDED, target=user,
                    details={"sessions": len(ended), "addresses": sorted({s.ip for s in ended})},
                )  # fmt: skip
