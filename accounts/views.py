"""The platform admin's sign-in page (the public site's /admin/login/), throttled."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from accounts.throttles import Throttle, client_address


def _failures_per_client() -> Throttle:
    return Throttle(
        "admin-login-client",
        settings.LOGIN_FAILURES_PER_CLIENT,
        settings.LOGIN_FAILURES_WINDOW_SECONDS,
    )


def _failures_per_account() -> Throttle:
    return Throttle(
        "admin-login-account",
        settings.LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT,
        settings.LOGIN_FAILURES_WINDOW_SECONDS,
    )


def admin_login(request: HttpRequest) -> HttpResponse:
    """Django admin's own login, refused with 429 after too many wrong passwords from this
    client, in all or for one account."""
    if request.method != "POST":
        return admin.site.login(request)
    address = client_address(request)
    account = str(request.POST.get("username", "")).strip().lower()
    per_client, per_account = _failures_per_client(), _failures_per_account()
    if per_client.blocked(address) or per_account.blocked(address, account):
        reason = (
            "Too many failed sign-in attempts from your network. Try again in "
            f"{per_account.window_minutes} minutes."
        )
        return HttpResponse(render_to_string("error.html", {"reason": reason}), status=429)
    response = admin.site.login(request)
    if response.status_code == 200:  # the form again: the password was wrong
        per_client.hit(address)
        per_account.hit(address, account)
    return response
