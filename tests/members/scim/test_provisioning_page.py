"""Members → Single sign-on → SCIM provisioning: owners make a token (shown once, kept as a
hash) and revoke it; to anyone else the page does not exist; each change is audited."""

import re

from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Role
from audit.models import AuditAction, AuditEvent
from members.models import ProvisioningToken
from members.tokens import secret_hash
from tests.conftest import signed_in
from tests.factories import make_member
from tests.members.scim.conftest import ScimClient

TOKEN = re.compile(r"scim_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}")


def test_owner_makes_a_token_shown_once_that_works_then_revokes_it(org_a, owner_a):
    browser = signed_in(org_a, owner_a)
    page = browser.get("/members/single-sign-on/scim/").content.decode()
    assert "http://alpha.localhost/scim/v2/" in page and "No tokens yet." in page

    made = browser.post("/members/single-sign-on/scim/tokens/")
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    secret = TOKEN.findall(made.content.decode())[0]
    again = browser.get("/members/single-sign-on/scim/").content.decode()
    assert secret not in again and secret[:13] in again
    scim = ScimClient(client=Client(HTTP_HOST="alpha.localhost"), secret=secret)
    assert scim.send("GET", "Users").status_code == 200

    with tenant_context(org_a):
        token = ProvisioningToken.objects.get()
        assert token.secret_hash == secret_hash(secret) and token.last_used_at is not None
    revoked = browser.post(f"/members/single-sign-on/scim/tokens/{token.pk}/revoke/", follow=True)
    assert "stops working at once" in revoked.content.decode()
    assert scim.send("GET", "Users").status_code == 401
    with tenant_context(org_a):
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", "actor_label"))
    assert actions == [
        (AuditAction.PROVISIONING_TOKEN_CREATED, owner_a.email),
        (AuditAction.PROVISIONING_TOKEN_REVOKED, owner_a.email),
    ]


def test_the_page_is_not_there_for_admins_and_members(org_a):
    with tenant_context(org_a):
        admin, member = make_member(role=Role.ADMIN), make_member()
    for person in (admin, member):
        browser = signed_in(org_a, person)
        assert browser.get("/members/single-sign-on/scim/").status_code == 404
        assert browser.post("/members/single-sign-on/scim/tokens/").status_code == 404
    with tenant_context(org_a):
        assert not ProvisioningToken.objects.exists()


def test_making_a_token_needs_the_csrf_token(org_a, owner_a):
    browser = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    with tenant_context(org_a):
        browser.force_login(owner_a)
    assert browser.post("/members/single-sign-on/scim/tokens/").status_code == 403
    with tenant_context(org_a):
        assert not ProvisioningToken.objects.exists()
