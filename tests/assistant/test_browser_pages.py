"""Every page, as a phone, a tablet and a laptop show it: nothing scrolls sideways and axe-core
finds no serious or critical accessibility violation. Screenshots of each page at each width
go to artifacts/pages/.

The organization is the sample handbook's, with what its pages list made through the real
services: an answered conversation with feedback, an unanswered question, a group and a
document that failed; and a pending invitation (a factory's: the service would leave its
email queued for whichever test's worker runs next); and single sign-on, so that the sign-in page
shows its button."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, WebError, expect

from api.services import api_key_create
from assistant.conversations import feedback_set
from members.services import group_create, group_member_add, invitation_token
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import Handbook, ask
from tests.factories import OWNER_PASSWORD, make_identity_provider, make_invitation
from tests.files import upload
from tests.live import (
    ARTIFACTS,
    WIDTHS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document
from workspaces.services import document_upload

SHOTS = "pages"


@dataclass(frozen=True)
class Site:
    public: str
    organization: str
    paths: dict[str, str]


@pytest.fixture(scope="module")
def site(handbook: Handbook, django_db_blocker, tmp_path_factory) -> Iterator[Site]:
    organization, owner, workspace = handbook.organization, handbook.owner, handbook.workspace
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("walk")),
        tenant_context(organization),
    ):
        answer, _ = ask(organization, owner, "How many vacation days do employees get?")
        feedback_set(user=owner, message=answer, rating=-1, comment="Which country?")
        ask(organization, owner, "What is the airspeed velocity of an unladen swallow?")
        group = group_create(actor=owner, name="Support team")
        group_member_add(actor=owner, group=group, email=owner.email)
        invitation = make_invitation(email="new.person@northwind.example", invited_by=owner)
        # Single sign-on set up (not asked of an issuer): the sign-in page shows its button.
        identity_provider = make_identity_provider()
        # Granted on the workspace: the access page lists the key beside people and groups.
        issued = api_key_create(
            actor=owner,
            name="Helpdesk integration",
            scopes=["read", "ask"],
            workspace_ids=[workspace.pk],
        )
        failed = document_upload(
            actor=owner, workspace=workspace, upload=upload("empty.txt", b""),
            queue_ingestion=False,
        )  # fmt: skip
        documents_ingest(document_ids=[failed.pk])
        with_table = Document.objects.get(workspace=workspace, original_name__startswith="travel")
        citation = answer.citations.order_by("marker").first()
        assert citation is not None
        slug = workspace.slug
        paths = {
            "dashboard": "/",
            "workspace-new": "/workspaces/new/",
            "documents": f"/w/{slug}/",
            "document": f"/w/{slug}/documents/{with_table.pk}/",
            "document-failed": f"/w/{slug}/documents/{failed.pk}/",
            "access": f"/w/{slug}/access/",
            "retrieval-test": f"/w/{slug}/search/?q=hotel+limit+in+London",
            "members": "/members/",
            "groups": "/members/groups/",
            "single-sign-on": "/members/single-sign-on/",
            "api-keys": "/members/api-keys/",
            "embedding-model": "/embedding-model/",
            "api-docs": "/api/v1/docs/",
            "billing": "/billing/",
            "spend": "/ask/spend/",
            "ask": "/ask/",
            "conversation": f"/ask/c/{answer.conversation_id}/",
            "source": f"/ask/sources/{citation.pk}/",
            "feedback": "/ask/feedback/",
            "gaps": "/ask/gaps/",
            "password-change": "/accounts/password/change/",
            "email": "/accounts/email/",
            "invitation": f"/invite/{invitation_token(invitation=invitation)}/",
        }
    schema_public_activate()
    port = free_port()
    with uvicorn_running(port):
        yield Site(
            public=f"http://localhost:{port}",
            organization=f"http://{organization.slug}.localhost:{port}",
            paths=paths,
        )
    with django_db_blocker.unblock(), tenant_context(organization):
        Document.objects.filter(pk=failed.pk).delete()
        identity_provider.delete()
        account = issued.key.service_account
        issued.key.delete()
        account.delete()
    schema_public_activate()


def _open_passage(page: Page) -> None:
    page.locator("#thread a.cite").first.click()
    expect(page.get_by_test_id("passage")).to_be_visible()


def _problems(page: Page, name: str, width: int) -> list[str]:
    (ARTIFACTS / SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / SHOTS / f"{name}-{width}.png", full_page=True)
    problems = [f"{name} at {width}px: {v}" for v in serious_violations(page)]
    overflow = overflow_px(page)
    if overflow > 0:
        problems.append(f"{name} at {width}px scrolls sideways by {overflow}px")
    return problems


def _walk(
    context: BrowserContext,
    base: str,
    pages: Sequence[tuple[str, str, Callable[[Page], None] | None]],
) -> list[str]:
    problems: list[str] = []

    # Console errors: a missing favicon, a script or stylesheet that failed to load.
    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error on {message.page and message.page.url}: {message.text}")

    def uncaught(error: WebError) -> None:
        problems.append(f"script error on {error.page and error.page.url}: {error.error}")

    context.on("console", console)
    context.on("weberror", uncaught)
    for width in WIDTHS:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": 800})
        for name, path, then in pages:
            page.goto(base + path)
            page.wait_for_load_state("load")
            if then is not None:
                then(page)
            problems += _problems(page, name, width)
        page.close()
    context.remove_listener("console", console)
    context.remove_listener("weberror", uncaught)
    return problems


def _sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.organization + "/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("link", name="Ask", exact=True)).to_be_attached()


def _menu_on_a_phone(page: Page, site: Site) -> list[str]:
    # Many phones are set to dark mode: the page must stay readable there too.
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(site.organization + "/")
    expect(page.get_by_role("link", name="Members")).to_be_hidden()
    page.get_by_test_id("menu").click()
    expect(page.get_by_role("link", name="Members")).to_be_visible()
    expect(page.get_by_test_id("menu-sign-out")).to_be_visible()
    return _problems(page, "menu-open", 360)


# `db`: pytest-django creates the test database only for runs that include a test using it.
def test_every_page_fits_every_width_without_serious_accessibility_violations(
    db: None, site: Site, handbook: Handbook
):
    with chromium_browser() as browser:
        anonymous = browser.new_context()
        public = _walk(
            anonymous,
            site.public,
            [("signup", "/", None), ("find-organization", "/find/", None)],
        )
        signed_out = _walk(
            anonymous,
            site.organization,
            [
                ("sign-in", "/accounts/login/", None),
                ("password-reset", "/accounts/password/reset/", None),
                ("signup-closed", "/accounts/signup/", None),
                ("invitation", site.paths["invitation"], None),
            ],
        )
        context = browser.new_context()
        _sign_in(context.new_page(), site, handbook.owner.email)
        inside = [
            (name, path, _open_passage if name == "conversation" else None)
            for name, path in site.paths.items()
            if name != "invitation"
        ] + [("sign-out", "/accounts/logout/", None)]
        signed_in = _walk(context, site.organization, inside)
        menu = _menu_on_a_phone(context.new_page(), site)
        context.close()

    problems = public + signed_out + signed_in + menu
    assert not problems, "\n".join(problems)
