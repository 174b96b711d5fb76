"""The Slack app end to end: an organization of its own with sample documents ingested
(committed once per session: a real Celery worker answers, on its own connection), the
local Slack-format server with slack-sdk pointed at it, and Slack's signed requests
delivered to the public site's events URL through Django's test client."""

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from integrations.directory.models import SlackTeam
from integrations.models import SlackInstallation
from localdev.slack_server import SlackLocal
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, make_member
from tests.files import sample_workspaces
from workspaces.models import Workspace, WorkspaceRole
from workspaces.services import grant_set

EVENTS_PATH = "/slack/events/"


@dataclass(frozen=True)
class SlackOrg:
    organization: Organization
    admin: User  # an admin with a verified address: installs the app
    reader: User  # viewer of the handbook; the open workspace too
    newcomer: User  # no grants: the open workspace only
    handbook: Workspace  # restricted: time off, product FAQ
    finance: Workspace  # restricted: travel and expenses
    everyone: Workspace  # open: code of conduct

    @property
    def host(self) -> str:
        return f"{self.organization.slug}.{settings.BASE_DOMAIN}"


@pytest.fixture(scope="session")
def slack_org(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlackOrg]:
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("slack")),
    ):
        organization, owner = organization_signup(
            name="Globex",
            slug="slackco",
            owner_email="owner@globex.example",
            owner_password=OWNER_PASSWORD,
        )
        with tenant_context(organization):
            admin = make_member(email="admin@globex.example", role=Role.ADMIN)
            reader = make_member(email="reader@globex.example")
            newcomer = make_member(email="newcomer@globex.example")
            handbook, finance, everyone = sample_workspaces(owner=owner)
            grant_set(actor=owner, workspace=handbook, grantee=reader, role=WorkspaceRole.VIEWER)
        schema_public_activate()
        try:
            yield SlackOrg(organization, admin, reader, newcomer, handbook, finance, everyone)
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture(scope="package")
def celery_worker(slack_org: SlackOrg) -> Iterator[None]:
    """A real worker on the tests' queue, in this process (the solo pool, one task at a time),
    stopped after these tests: left running, it would take other tests' tasks from the queue."""
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
    ):
        yield


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """Database access without a test transaction: the worker must see what a test writes."""
    with django_db_blocker.unblock():
        yield


def public_post(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """How the local Slack server's deliveries reach us: the public site's events URL."""
    extra = {name: value for name, value in headers.items() if name != "Content-Type"}
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).post(
        EVENTS_PATH, body, content_type=headers["Content-Type"], headers=extra
    )
    schema_public_activate()
    return int(response.status_code), bytes(response.content)


@pytest.fixture
def slack(committed: None, celery_worker: None, settings: Any) -> Iterator[SlackLocal]:
    server = SlackLocal(
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client_id=settings.SLACK_OAUTH_CLIENT_ID,
        client_secret=settings.SLACK_OAUTH_CLIENT_SECRET,
        sender=public_post,
    ).start()
    settings.SLACK_API_BASE_URL = server.api_url
    settings.SLACK_AUTHORIZE_URL = server.authorize_url
    settings.SLACK_UPDATE_INTERVAL_SECONDS = 0.2
    try:
        yield server
    finally:
        server.stop()


def manager_client(org: SlackOrg) -> Client:
    client = Client(HTTP_HOST=org.host)
    with tenant_context(org.organization):
        client.force_login(org.admin)
    schema_public_activate()
    return client


def slack_install(
    org: SlackOrg, slack: SlackLocal, workspaces: list[Workspace] | None = None
) -> Any:
    """Add to Slack as the admin does: the form, Slack's approval, the public callback,
    the organization's finish. Returns the last response (the page it redirects to)."""
    client = manager_client(org)
    chosen = workspaces if workspaces is not None else [org.handbook, org.everyone]
    begun = client.post(
        "/members/integrations/slack/install/", {"workspaces": [w.pk for w in chosen]}
    )
    assert begun.status_code == 302, begun.content
    approved = _follow_external(begun["Location"])  # Slack's page approves at once
    callback = urlsplit(approved)
    public = Client(HTTP_HOST=settings.BASE_DOMAIN).get(f"{callback.path}?{callback.query}")
    schema_public_activate()
    assert public.status_code == 302, public.content
    finish = urlsplit(public["Location"])
    assert finish.netloc == org.host
    done = client.get(f"{finish.path}?{finish.query}")
    schema_public_activate()
    return client, done


def _follow_external(url: str) -> str:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return str(redirect.headers["Location"])
    raise AssertionError("Slack's authorize page did not redirect")


@pytest.fixture
def not_installed(slack_org: SlackOrg, slack: SlackLocal) -> SlackLocal:
    """The organization without the app (an earlier test may have left it installed)."""
    SlackTeam.objects.filter(organization=slack_org.organization).delete()
    with tenant_context(slack_org.organization):
        SlackInstallation.objects.all().delete()
    schema_public_activate()
    return slack


@pytest.fixture
def installed(slack_org: SlackOrg, not_installed: SlackLocal) -> Iterator[SlackLocal]:
    """The app installed in the organization (handbook and the open workspace shared)."""
    slack = not_installed
    slack_install(slack_org, slack)
    assert SlackTeam.objects.filter(organization=slack_org.organization).exists()
    yield slack
