from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class OrganizationAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People join an organization by invitation only (members.views.invitation_accept);
        # organizations themselves are created on the public site.
        return False
