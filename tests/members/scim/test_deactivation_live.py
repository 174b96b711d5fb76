"""The deactivation figure over real HTTP: uvicorn serves an organization; each of four admins
is signed in with a password (a session cookie) and has an API key; the directory's PATCH
active=false arrives over HTTP, and the admin's very next page request and API call, sent
right after its answer, are refused. The PATCH's round trip and the next requests' are
printed (docs/features.md quotes them)."""

import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from api.services import api_key_create
from members.actions.provisioning import provisioning_token_create
from tenants.schemas import schema_public_activate
from tests.factories import MEMBER_PASSWORD, make_member
from tests.live import free_port, uvicorn_running
from tests.members.conftest import organization_for_sso
from tests.members.scim.conftest import PATCH_OP
from workspaces.services import workspace_create

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Admin:
    member_id: int
    email: str
    key: str


@dataclass(frozen=True)
class Live:
    base: str
    host: str
    token: str
    admins: list[Admin]


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker) -> Iterator[Live]:
    with django_db_blocker.unblock():
        organization = organization_for_sso("scimco")
        with tenant_context(organization):
            owner = User.objects.get(email="owner@scimco.example")
            workspace = workspace_create(actor=owner, name="Handbook")
            token = provisioning_token_create(actor=owner).secret
            admins = []
            for number in range(4):  # the free plan's five seats, the owner's included
                admin = make_member(role=Role.ADMIN, email=f"admin{number}@scimco.example")
                key = api_key_create(
                    actor=admin, name=f"Bot {number}", scopes=["read"], workspace_ids=[workspace.pk]
                )
                admins.append(Admin(admin.pk, admin.email, key.secret))
    schema_public_activate()
    port = free_port()
    with uvicorn_running(port):
        yield Live(f"http://127.0.0.1:{port}", f"scimco.localhost:{port}", token, admins)


def _signed_in(live: Live, email: str) -> requests.Session:
    browser = requests.Session()
    browser.headers["Host"] = live.host
    page = browser.get(f"{live.base}/accounts/login/", timeout=30).text
    csrf = CSRF.search(page)
    assert csrf is not None
    signed = browser.post(
        f"{live.base}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf.group(1), "login": email, "password": MEMBER_PASSWORD},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert signed.status_code == 302, signed.text[:500]
    return browser


def test_a_deactivation_over_http_refuses_the_very_next_page_request_and_api_call(live: Live):
    patches, next_requests = [], []
    for admin in live.admins:
        browser = _signed_in(live, admin.email)
        api = {"Host": live.host, "Authorization": f"Bearer {admin.key}"}
        assert browser.get(f"{live.base}/", allow_redirects=False, timeout=30).status_code == 200
        assert requests.get(f"{live.base}/api/v1/workspaces/", headers=api, timeout=30).ok

        started = time.perf_counter()
        patched = requests.patch(
            f"{live.base}/scim/v2/Users/{admin.member_id}",
            json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
            headers={"Host": live.host, "Authorization": f"Bearer {live.token}"}, timeout=30,
        )  # fmt: skip
        answered = time.perf_counter()
        page = browser.get(f"{live.base}/", allow_redirects=False, timeout=30)
        call = requests.get(f"{live.base}/api/v1/workspaces/", headers=api, timeout=30)
        refused = time.perf_counter()

        assert patched.status_code == 200 and patched.json()["active"] is False
        assert page.status_code == 302 and page.headers["Location"].startswith("/accounts/login/")
        assert call.status_code == 401
        patches.append(1000 * (answered - started))
        next_requests.append(1000 * (refused - answered))
    print(
        f"\n{len(patches)} deactivations over HTTP: PATCH median {statistics.median(patches):.0f} ms "
        f"(max {max(patches):.0f}); the next page request and API call were refused every time, "
        f"both answered within {max(next_requests):.0f} ms of the PATCH's answer"
    )
