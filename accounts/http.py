"""Request types for views, so that mypy knows what the middleware adds."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class MemberRequest(HtmxHttpRequest):
    """A request from a signed-in member (behind login_required / role_required)."""

    user: User
