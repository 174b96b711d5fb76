"""Two-factor sign-in with allauth.mfa (an authenticator app's TOTP codes and recovery codes),
and the owner's "require two-factor for everyone". Codes are computed here from the secret
the activation page shows, as an authenticator app would."""

import re
import time
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from bs4 import BeautifulSoup
from django.core import mail
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from tenants.models import Organization
from tests.conftest import client_for, signed_in
from tests.factories import MEMBER_PASSWORD, make_member


def _code(secret: str, periods_ahead: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + periods_ahead))


def _password_sign_in(organization: Organization, user: User) -> tuple[Client, Any]:
    client = client_for(organization)
    response = client.post("/accounts/login/", {"login": user.email, "password": MEMBER_PASSWORD})
    return client, response


def _activation_page(client: Client) -> str:
    """The activation page, after confirming the password as allauth asks before MFA changes."""
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    client.post(asked["Location"], {"password": MEMBER_PASSWORD})
    return client.get("/accounts/2fa/totp/activate/").content.decode()


def _secret_on(page: str) -> str:
    found = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', page) or re.search(
        r'value="([A-Z2-7=]+)"[^>]*id="authenticator_secret"', page
    )
    assert found is not None, page
    return found.group(1)


def test_a_member_sets_up_an_authenticator_app_and_gets_recovery_codes(org_a: Organization):
    person = make_member(email="careful@example.com")
    client, _ = _password_sign_in(org_a, person)

    secret = _secret_on(_activation_page(client))
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=person).exists()

    client.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})

    types = set(Authenticator.objects.filter(user=person).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_sign_in_asks_for_the_code_after_the_password(org_a: Organization):
    person = make_member(email="twofactor@example.com")
    secret = generate_totp_secret()
    TOTP.activate(person, secret)
    client, response = _password_sign_in(org_a, person)

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/")["Location"].startswith("/accounts/login/")  # not signed in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200
    assert client.get("/")["Location"].startswith("/accounts/login/")

    client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})

    assert client.get("/").status_code == 200


def test_a_recovery_code_signs_in_once(org_a: Organization):
    person = make_member(email="lostphone@example.com")
    client, _ = _password_sign_in(org_a, person)
    secret = _secret_on(_activation_page(client))
    client.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})
    codes_page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    recovery_code = re.findall(r"\b[a-z0-9]{8}\b", codes_page)
    codes = Authenticator.objects.get(user=person, type=Authenticator.Type.RECOVERY_CODES)
    unused = RecoveryCodes(codes).get_unused_codes()
    assert unused and unused[0] in recovery_code
    first = client_for(org_a)
    first.post("/accounts/login/", {"login": person.email, "password": MEMBER_PASSWORD})

    first.post("/accounts/2fa/authenticate/", {"code": unused[0]})
    again = client_for(org_a)
    again.post("/accounts/login/", {"login": person.email, "password": MEMBER_PASSWORD})
    again.post("/accounts/2fa/authenticate/", {"code": unused[0]})

    assert first.get("/").status_code == 200
    assert again.get("/")["Location"].startswith("/accounts/login/")


def test_an_owner_requires_two_factor_and_members_without_it_must_set_it_up(
    org_a: Organization, owner_a: User
):
    member = make_member(email="plain@example.com")
    protected = make_member(email="protected@example.com")
    TOTP.activate(protected, generate_totp_secret())
    owner = signed_in(org_a, owner_a)
    page = owner.get("/members/security/").content.decode()
    assert "plain@example.com" in page and "protected@example.com" not in page

    owner.post("/members/security/", {"require_two_factor": "on"})

    org_a.refresh_from_db()
    assert org_a.require_two_factor
    event = AuditEvent.objects.get(action=AuditAction.SECURITY_SETTING_CHANGED)
    assert (event.actor, event.details["to"]) == (owner_a, True)
    plain = signed_in(org_a, member)
    assert plain.get("/")["Location"] == "/accounts/2fa/totp/activate/"
    assert plain.get("/ask/")["Location"] == "/accounts/2fa/totp/activate/"
    # allauth's own pages stay open: setting it up starts with confirming the password.
    assert plain.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/"
    )
    assert plain.get("/accounts/logout/").status_code == 200
    assert signed_in(org_a, protected).get("/").status_code == 200


def test_turning_the_requirement_off_is_recorded_and_frees_everyone(
    org_a: Organization, owner_a: User
):
    Organization.objects.filter(pk=org_a.pk).update(require_two_factor=True)
    TOTP.activate(owner_a, generate_totp_secret())
    owner = signed_in(org_a, owner_a)

    owner.post("/members/security/", {})

    assert not Organization.objects.get(pk=org_a.pk).require_two_factor
    assert AuditEvent.objects.get().details == {
        "setting": "require_two_factor",
        "from": True,
        "to": False,
    }
    assert signed_in(org_a, make_member()).get("/").status_code == 200


def test_only_owners_reach_the_security_settings(org_a: Organization):
    for role in (Role.ADMIN, Role.BILLING_ADMIN, Role.MEMBER):
        client = signed_in(org_a, make_member(role=role))
        assert client.get("/members/security/").status_code == 404
        assert client.post("/members/security/", {"require_two_factor": "on"}).status_code == 404

    assert not Organization.objects.get(pk=org_a.pk).require_two_factor
    assert not AuditEvent.objects.exists()


def test_an_unverified_member_resends_the_verification_mail_from_two_factor_setup(
    org_a: Organization,
):
    person = make_member(email="unverified@example.com")
    EmailAddress.objects.filter(user=person).update(verified=False)
    client, _ = _password_sign_in(org_a, person)

    page = client.get("/accounts/2fa/totp/activate/", follow=True).content.decode()

    assert "until you have verified your email address" in page
    form = BeautifulSoup(page, "html.parser").find("form", attrs={"data-testid": "resend"})
    assert form is not None, page
    assert form["method"] == "post"
    fields = {
        field["name"]: field.get("value", "")
        for field in form.find_all(["input", "button"])
        if field.get("name")
    }
    assert "csrfmiddlewaretoken" in fields
    mail.outbox.clear()
    sent = client.post(str(form["action"]), fields, follow=True).content.decode()

    assert "Confirmation email sent to unverified@example.com" in sent
    assert [message.to for message in mail.outbox] == [["unverified@example.com"]]
    link = re.search(r"/accounts/confirm-email/\S+", str(mail.outbox[0].body))
    assert link is not None
    client.post(link.group(0))
    assert EmailAddress.objects.get(user=person).verified
