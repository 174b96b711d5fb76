"""Request types for views, so that mypy knows what the middleware adds."""

from django import forms
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class MemberRequest(HtmxHttpRequest):
    """A request from a signed-in member (behind login_required / role_required)."""

    user: User


def form_refusal(form: forms.Form) -> str:
    """A refused form's errors as a sentence or a few, for a flash message or a 400 page."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)
