from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts.throttles import client_address


class OrganizationAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People join an organization by invitation only (members.views.invitation_accept);
        # organizations themselves are created on the public site.
        return False

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts failed sign-ins per address ("key" in ACCOUNT_RATE_LIMITS), so five
        # wrong passwords from anyone locked the account for everyone, its owner included.
        # The address and the client together: an attacker locks out only themselves.
        # allauth 65 has no "ip+key" rate; this is the key its login_failed limit uses.
        address = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{address}:{client_address(request)}"
