"""The Content-Security-Policy in a real browser: every page an owner and a visitor open,
htmx swaps included, without one violation (no inline script, style or eval).

uvicorn runs as its own process against the test database; headless Chromium reports each
`securitypolicyviolation` event to the test."""

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from billing.models import BillingAccount
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, staff_with_authenticator, totp_code
from tests.live import (
    ARTIFACTS,
    chromium_page,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.services import workspace_create

OPERATOR = "operator@policy.example"
OPERATOR_SECRET: dict[str, str] = {}  # the operator's authenticator app, set by `live`
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile}:${event.lineNumber} on ${location.pathname}`);
});
"""


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    port = free_port()
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Policy Co", slug="policy-co", owner_email="owner@policy.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace_create(actor=User.objects.get(pk=owner.pk), name="Handbook")
        schema_public_activate()
        _, OPERATOR_SECRET["totp"] = staff_with_authenticator(OPERATOR, OWNER_PASSWORD)
    with uvicorn_running(port):
        yield f"localhost:{port}"
    with django_db_blocker.unblock():
        schema_public_activate()
        # Platform staff cannot be deleted (accounts.admin); made inactive as staff leave.
        User.objects.filter(email=OPERATOR).update(is_active=False)
        BillingAccount.objects.filter(organization=organization).delete()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def watched_page() -> Iterator[tuple[Page, list[str]]]:
    violations: list[str] = []
    with chromium_page() as page:
        page.expose_function("cspViolation", lambda text: violations.append(text))
        page.add_init_script(REPORT_VIOLATIONS)
        yield page, violations


def test_pages_and_htmx_swaps_raise_no_csp_violation(
    db: None, live: str, watched_page: tuple[Page, list[str]]
):
    page, violations = watched_page
    site = f"http://policy-co.{live}"

    first = page.goto(site + "/accounts/login/")
    assert first is not None
    policy = first.headers["content-security-policy"]
    page.locator("input[name=login]").fill("owner@policy.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Handbook")).to_be_visible()
    # The listener works: an inline style attribute added now is reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<b style=\"color:red\">x</b>')")
    page.wait_for_timeout(300)
    assert any("style-src" in violation for violation in violations), violations
    violations.clear()

    for path in [
        "/", "/w/handbook/", "/w/handbook/access/", "/members/", "/members/groups/",
        "/billing/", "/ask/", "/ask/feedback/", "/ask/gaps/", "/accounts/password/change/",
        "/accounts/email/",
    ]:  # fmt: skip
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"] == policy
        assert "no-store" in response.headers["cache-control"]
    page.goto(site + "/billing/")
    bar = page.locator('[data-meter="workspaces"] .meter-bar > span')
    assert bar.evaluate("element => element.style.width") == "33%"  # 1 of the Free plan's 3
    page.goto(site + "/w/handbook/search/?mode=lexical")  # lexical: no embedding model to load
    page.locator("#q").fill("vacation days")
    expect(page.locator("#results")).to_contain_text("Nothing found")
    page.goto(f"http://{live}/")
    page.get_by_label("Address").fill("policy-co")
    expect(page.locator("#slug-feedback")).to_contain_text("already taken")
    page.goto(f"http://{live}/find/")
    page.goto(f"http://{live}/admin/login/")
    page.locator("input[name=username]").fill(OPERATOR)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.get_by_label("Authenticator code")).to_be_visible()
    for width in (390, 1280):  # the admin's second step, on a phone and a desktop
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=ARTIFACTS / f"admin-login-code-{width}.png", full_page=True)
        assert serious_violations(page) == [], width
        assert overflow_px(page) == 0, width
    page.get_by_label("Authenticator code").fill(totp_code(OPERATOR_SECRET["totp"]))
    page.locator("input[type=submit]").click()
    expect(page.get_by_role("link", name="Organizations").first).to_be_visible()
    for path in ["/admin/tenants/organization/", "/admin/billing/plan/1/change/",
                 "/admin/accounts/user/"]:  # fmt: skip
        response = page.goto(f"http://{live}{path}")
        assert response is not None and response.status == 200, path
        assert "camera=()" in response.headers["permissions-policy"]
    page.wait_for_timeout(300)

    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert violations == []
