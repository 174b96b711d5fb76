"""The platform admin's sign-in page (the public site's /admin/login/): throttled, and a
second factor (an authenticator app's code) after the password."""

import time
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
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


PENDING_KEY = "admin_login_pending"


def _refused(reason: str, status: int) -> HttpResponse:
    return HttpResponse(render_to_string("error.html", {"reason": reason}), status=status)


def _code_step(
    request: HttpRequest, email: str, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Two-factor sign-in",
        "app_path": request.get_full_path(),
        "email": email,
        "error": error,
    }
    return TemplateResponse(request, "admin/login_code.html", context, status=status)


def _next_url(request: HttpRequest, candidate: str) -> str:
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def admin_login(request: HttpRequest) -> HttpResponse:
    """Django admin's own login, refused with 429 after too many wrong passwords or codes from
    this client, in all or for one account. Platform staff then enter the code of their
    authenticator app (TOTP, allauth.mfa, kept in the public schema; `manage.py staff_totp`
    sets it up); without one they are not let in (PLATFORM_STAFF_REQUIRE_TWO_FACTOR)."""
    if request.method != "POST":
        request.session.pop(PENDING_KEY, None)
        return admin.site.login(request)
    pending = request.session.get(PENDING_KEY)
    if "code" in request.POST and isinstance(pending, dict):
        return _admin_login_code(request, pending)
    address = client_address(request)
    account = str(request.POST.get("username", "")).strip().lower()
    per_client, per_account = _failures_per_client(), _failures_per_account()
    if per_client.blocked(address) or per_account.blocked(address, account):
        return _too_many(per_account)
    form = AdminAuthenticationForm(request, data=request.POST)
    if not form.is_valid():
        per_client.hit(address)
        per_account.hit(address, account)
        return admin.site.login(request)  # the form again, with its errors
    user = form.get_user()
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        if settings.PLATFORM_STAFF_REQUIRE_TWO_FACTOR:
            return _refused(
                "Platform staff sign in with an authenticator app, and this account has none "
                "yet. Ask another operator to run `manage.py staff_totp` for it.",
                403,
            )
        auth_login(request, user)
        return HttpResponseRedirect(_next_url(request, request.POST.get("next", "")))
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "email": user.email,
        "next": str(request.POST.get("next", "")),
        "until": time.time() + PENDING_SECONDS,
    }
    return _code_step(request, user.email)


PENDING_SECONDS = 5 * 60


def _too_many(per_account: Throttle) -> HttpResponse:
    return _refused(
        "Too many failed sign-in attempts from your network. Try again in "
        f"{per_account.window_minutes} minutes.",
        429,
    )


def _admin_login_code(request: HttpRequest, pending: dict[str, Any]) -> HttpResponse:
    address, account = client_address(request), str(pending.get("email", "")).lower()
    per_client, per_account = _failures_per_client(), _failures_per_account()
    if per_client.blocked(address) or per_account.blocked(address, account):
        request.session.pop(PENDING_KEY, None)
        return _too_many(per_account)
    user = User.objects.filter(
        pk=int(pending.get("user") or 0), is_active=True, is_staff=True
    ).first()
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if user is None or totp is None or float(pending.get("until", 0)) < time.time():
        request.session.pop(PENDING_KEY, None)
        return _refused("The sign-in took too long. Sign in again from the start.", 400)
    code = str(request.POST.get("code", "")).strip().replace(" ", "")
    if not code.isdigit() or not TOTP(totp).validate_code(code):
        per_client.hit(address)
        per_account.hit(address, account)
        return _code_step(request, user.email, error="That code is not the current one. Try again.")
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend=pending.get("backend") or None)
    totp.record_usage()
    return HttpResponseRedirect(_next_url(request, str(pending.get("next", ""))))
