"""What views share: request types (so that mypy knows what the middleware adds), a refused
form as a sentence, and calling a service whose refusal is a sentence for the person."""

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import messages
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


Result = TypeVar("Result")


def service_call_flashed(
    request: HttpRequest,
    action: Callable[[], Result],
    *,
    refused: type[Exception],
    success: str | Callable[[Result], str] = "",
) -> Result | None:
    """Run `action` (a service call). Its refusal (a `refused` exception, whose message is a
    sentence for the person) is flashed as an error and None returned; otherwise `success`
    (a sentence, or one made from the result) is flashed and the result returned."""
    try:
        result = action()
    except refused as refusal:
        messages.error(request, str(refusal))
        return None
    sentence = success(result) if callable(success) else success
    if sentence:
        messages.success(request, sentence)
    return result


def service_call(
    action: Callable[[], Result], *, refused: type[Exception]
) -> tuple[Result | None, str]:
    """Run `action` (a service call): its result and "", or None and the sentence of its
    refusal (a `refused` exception, whose message is written for the person)."""
    try:
        return action(), ""
    except refused as refusal:
        return None, str(refusal)
