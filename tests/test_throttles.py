"""Throttles, through real requests: the platform admin's login, an organization's sign-in
(by address and client together, so an attacker cannot lock the owner out), and signups
per client."""

from django.conf import settings
from django.test import Client

from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import client_for
from tests.factories import OWNER_PASSWORD, staff_with_authenticator, totp_code

ATTACKER, OWNER_NETWORK = "203.0.113.7", "198.51.100.20"


def test_platform_admin_login_is_refused_after_five_wrong_passwords_from_one_client(db: None):
    schema_public_activate()
    _, secret = staff_with_authenticator("operator@platform.example", "right-pass-42")
    attacker = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=ATTACKER)
    wrong = {"username": "operator@platform.example", "password": "guess"}

    tries = [attacker.post("/admin/login/", wrong).status_code for _ in range(5)]
    refused = attacker.post(
        "/admin/login/", {"username": "operator@platform.example", "password": "right-pass-42"}
    )
    operator_client = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=OWNER_NETWORK)
    operator_client.post(
        "/admin/login/",
        {"username": "operator@platform.example", "password": "right-pass-42", "next": "/admin/"},
    )
    operator = operator_client.post("/admin/login/", {"code": totp_code(secret)})

    assert tries == [200] * 5
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert operator.status_code == 302
    assert operator["Location"] == "/admin/"


def test_admin_login_throttle_counts_every_account_from_one_client(db: None):
    schema_public_activate()
    attacker = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=ATTACKER)

    tries = [
        attacker.post("/admin/login/", {"username": f"u{n}@x.example", "password": "g"})
        for n in range(settings.LOGIN_FAILURES_PER_CLIENT + 1)
    ]

    assert [r.status_code for r in tries[:-1]] == [200] * settings.LOGIN_FAILURES_PER_CLIENT
    assert tries[-1].status_code == 429


def sign_in(client: Client, password: str) -> tuple[int, str]:
    response = client.post(
        "/accounts/login/", {"login": "owner@alpha.example", "password": password}
    )
    return response.status_code, response.content.decode()


def test_wrong_passwords_lock_out_the_attacker_not_the_owner(org_a: Organization):
    attacker = client_for(org_a)
    attacker.defaults["REMOTE_ADDR"] = ATTACKER
    owner = client_for(org_a)
    owner.defaults["REMOTE_ADDR"] = OWNER_NETWORK

    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT):
        assert (
            "The email address and/or password you specified are not correct."
            in sign_in(attacker, "wrong-password")[1]
        )
    locked_status, locked_page = sign_in(attacker, OWNER_PASSWORD)
    owner_status, _ = sign_in(owner, OWNER_PASSWORD)

    assert "Too many failed login attempts" in locked_page
    assert locked_status != 302
    assert owner_status == 302
    assert owner.get("/").status_code == 200


def test_signups_are_throttled_per_client(public_client: Client):
    limit = settings.SIGNUPS_PER_CLIENT_PER_HOUR
    public_client.defaults["REMOTE_ADDR"] = ATTACKER

    def sign_up(client: Client, n: int) -> int:
        form = {
            "name": f"Spree {n}",
            "slug": f"spree-{n}",
            "email": f"founder{n}@spree.example",
            "password": "a-long-enough-password",
        }
        return int(client.post("/", form).status_code)

    statuses = [sign_up(public_client, n) for n in range(limit)]
    refused = public_client.post("/", {"name": "Spree", "slug": "spree-x", "email": "a@b.example",
                                       "password": "a-long-enough-password"})  # fmt: skip
    elsewhere = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=OWNER_NETWORK)

    assert statuses == [303] * limit
    assert refused.status_code == 429
    assert "Too many organizations were created from your network" in refused.content.decode()
    assert not Organization.objects.filter(slug="spree-x").exists()
    assert sign_up(elsewhere, 99) == 303
