"""Platform staff sign in to the public site's admin with a password and then the code of
their authenticator app (TOTP, computed here from the secret `manage.py staff_totp` prints);
without an app, or with a wrong or replayed code, they do not get in."""

import io
import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tenants.schemas import schema_public_activate

OPERATOR, PASSWORD = "operator@platform.example", "right-pass-42"


def code_for(secret: str, periods_ahead: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + periods_ahead))


@pytest.fixture
def operator_secret(db: None) -> str:
    schema_public_activate()
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
    out = io.StringIO()
    call_command("staff_totp", OPERATOR, stdout=out)
    printed = out.getvalue()
    assert "otpauth://totp/" in printed and "secret=" in printed
    match = re.search(r"^Secret: ([A-Z2-7=]+)$", printed, re.M)
    assert match
    return match[1]


def admin_client() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


def password_step(client: Client, password: str = PASSWORD) -> str:
    response = client.post(
        "/admin/login/", {"username": OPERATOR, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_staff_sign_in_takes_the_password_then_the_authenticator_code(operator_secret: str):
    client = admin_client()

    page = password_step(client)
    not_yet = client.get("/admin/")
    signed_in = client.post("/admin/login/", {"code": code_for(operator_secret)})

    assert "Authenticator code" in page and OPERATOR in page
    assert not_yet.status_code == 302 and "/admin/login/" in not_yet["Location"]
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_or_replayed_code_does_not_sign_in(operator_secret: str):
    first, second = admin_client(), admin_client()
    password_step(first)
    password_step(second)

    wrong = first.post("/admin/login/", {"code": code_for(operator_secret, periods_ahead=5)})
    code = code_for(operator_secret)
    used = first.post("/admin/login/", {"code": code})
    replayed = second.post("/admin/login/", {"code": code})

    assert wrong.status_code == 200 and "not the current one" in wrong.content.decode()
    assert used.status_code == 302
    assert replayed.status_code == 200 and "not the current one" in replayed.content.decode()
    assert second.get("/admin/").status_code == 302


def test_a_code_without_the_password_first_signs_no_one_in(operator_secret: str):
    client = admin_client()

    response = client.post("/admin/login/", {"code": code_for(operator_secret)})

    assert response.status_code == 200  # the password form again
    assert "Authenticator code" not in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_staff_without_an_authenticator_app_are_refused(db: None):
    schema_public_activate()
    User.objects.create_superuser(email=OPERATOR, password=PASSWORD)

    response = admin_client().post("/admin/login/", {"username": OPERATOR, "password": PASSWORD})

    assert response.status_code == 403
    assert "manage.py staff_totp" in response.content.decode()


def test_wrong_codes_are_throttled_like_wrong_passwords(operator_secret: str):
    client = admin_client()
    password_step(client)
    wrong = code_for(operator_secret, periods_ahead=7)

    tries = [
        client.post("/admin/login/", {"code": wrong}).status_code
        for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT)
    ]
    refused = client.post("/admin/login/", {"code": code_for(operator_secret)})

    assert tries == [200] * settings.LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT
    assert refused.status_code == 429


def test_staff_totp_will_not_silently_replace_an_app(operator_secret: str):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already has"):
        call_command("staff_totp", OPERATOR, stdout=io.StringIO())
    out = io.StringIO()
    call_command("staff_totp", OPERATOR, "--replace", stdout=out)
    assert operator_secret not in out.getvalue()
