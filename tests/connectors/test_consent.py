"""Connecting Google Drive and SharePoint / OneDrive by a person's consent: the whole round
trip through the real libraries (google-auth-oauthlib, msal) against the local servers'
OAuth endpoints (localdev/drive_server.py, localdev/graph_server.py), the browser's part
played by `requests` (it loads the consent page and clicks its button's form): Connect ->
the provider's consent page -> the public site's callback -> the organization's site ->
choose what to sync -> a sync with the stored refresh token. Then what goes wrong: the
person cancels, a forged, replayed or someone else's state, a code the provider refuses, a
consent withdrawn after connecting (the source asks to be reconnected, and Reconnect
works)."""

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.secrets_at_rest import keyset_new
from audit.models import AuditAction, AuditEvent
from connectors.credentials import credentials_open
from connectors.models import Connector, SyncState
from connectors.permissions import connector_readers_sync
from connectors.sync import connector_sync_run
from localdev.drive_server import DriveLocal
from localdev.graph_server import GraphDrive, GraphLocal
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Document, Workspace

CALLBACK = f"http://{django_settings.BASE_DOMAIN}/sources/oauth/callback/"


@dataclass
class Browser:
    """The person's browser beside the test client: the provider's pages are real HTTP."""

    verify: str | bool = True

    def consent(self, authorize_url: str, decision: str = "allow") -> str:
        """Open the consent page and press its button; where the provider sends us back."""
        page = requests.get(authorize_url, verify=self.verify, timeout=10)
        assert page.status_code == 200, page.text
        assert 'value="allow"' in page.text
        answer = requests.post(
            authorize_url, data={"decision": decision}, allow_redirects=False,
            verify=self.verify, timeout=10,
        )  # fmt: skip
        assert answer.status_code == 302, answer.text
        return str(answer.headers["Location"])


def _via_public_site(callback_url: str) -> str:
    """The public site's callback: where it forwards (the organization's finish address)."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    forwarded = Client(HTTP_HOST=django_settings.BASE_DOMAIN).get(f"{parts.path}?{parts.query}")
    assert forwarded.status_code == 302
    return str(forwarded["Location"])


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def drive(settings) -> Iterator[DriveLocal]:
    local = DriveLocal().start()
    settings.GOOGLE_DRIVE_API_URL = local.api_url()
    settings.GOOGLE_DRIVE_TOKEN_URI = local.token_url()
    settings.GOOGLE_OAUTH_AUTHORIZE_URL = local.authorize_url()
    settings.GOOGLE_OAUTH_CLIENT_ID, settings.GOOGLE_OAUTH_CLIENT_SECRET = local.oauth_client(
        [CALLBACK]
    )
    local.consent_account = "owner@alpha.example"
    yield local
    local.stop()


@pytest.fixture
def handbook(drive: DriveLocal) -> str:
    folder = drive.folder("Handbook")
    drive.add("leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
              mime_type="text/markdown", parents=(folder.id,))  # fmt: skip
    drive.add("travel.txt", b"Trains are booked in second class for trips under four hours.",
              parents=(folder.id,))  # fmt: skip
    drive.add("salaries.txt", b"Not in the folder.")
    return folder.id


@pytest.fixture
def graph(settings) -> Iterator[GraphLocal]:
    local = GraphLocal().start()
    settings.MICROSOFT_LOGIN_URL = local.login_url()
    settings.MICROSOFT_GRAPH_URL = local.graph_url()
    settings.MICROSOFT_CA_BUNDLE = local.ca_file
    settings.MICROSOFT_OAUTH_CLIENT_ID, settings.MICROSOFT_OAUTH_CLIENT_SECRET = local.web_app(
        [CALLBACK]
    )
    local.person("owner@alpha.example")
    yield local
    local.stop()


@pytest.fixture
def onedrive(graph: GraphLocal) -> GraphDrive:
    drive = graph.onedrive("owner@alpha.example")
    policies = graph.folder(drive, "Policies")
    graph.add(drive, "leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
              parent=policies, mime_type="text/markdown")  # fmt: skip
    graph.add(drive, "expenses.txt", b"Expenses are paid within ten working days.",
              parent=policies)  # fmt: skip
    graph.add(drive, "diary.txt", b"Outside the folder.")
    return drive


def _connect(client: Client, workspace: Workspace, provider: str, browser: Browser) -> str:
    """Connect -> consent -> back: the address the organization's site sends us to."""
    started = client.post(f"/w/{workspace.slug}/sources/connect/{provider}/")
    assert started.status_code == 302
    finish = _via_public_site(browser.consent(started["Location"]))
    assert urlsplit(finish).netloc == f"alpha.{django_settings.BASE_DOMAIN}"
    finished = client.get(_path(finish))
    assert finished.status_code == 302
    return str(finished["Location"])


def _titles(workspace: Workspace) -> set[str]:
    return set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))


def test_connect_google_drive_by_consent_then_sync_with_the_refresh_token(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: str
):
    client = signed_in(org_a, owner_a)
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()

    choose = _connect(client, workspace, "google", Browser())
    chosen = client.get(choose)
    added = client.post(choose, {"folder_id": handbook, "schedule": 1440})

    assert 'data-testid="connect-google"' in page
    assert "owner@alpha.example" in chosen.content.decode()
    assert added.status_code == 302 and added["Location"] == f"/w/{workspace.slug}/sources/"
    connector = Connector.objects.get()
    credentials = credentials_open(connector)
    assert set(credentials) == {"refresh_token"}  # never the access token alone
    assert credentials["refresh_token"] in drive.refresh_tokens
    assert credentials["refresh_token"] not in connector.credentials_encrypted
    assert connector.selection["connected_as"] == "owner@alpha.example"
    assert AuditEvent.objects.filter(action=AuditAction.SOURCE_ADDED).count() == 1
    # The code was exchanged once, with the PKCE verifier the session kept.
    assert not drive.codes

    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()

    assert (connector.state, connector.added, connector.error) == (SyncState.IDLE, 2, "")
    assert _titles(workspace) == {"leave", "travel"}
    listing = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "connected as owner@alpha.example" in listing


def test_connect_sharepoint_onedrive_by_consent_then_sync(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    client = signed_in(org_a, owner_a)

    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))
    chosen = client.get(choose).content.decode()
    added = client.post(choose, {"user": "owner@alpha.example", "folder": "Policies"})

    assert 'value="owner@alpha.example"' in chosen  # their own OneDrive, filled in
    assert added.status_code == 302
    connector = Connector.objects.get()
    credentials = credentials_open(connector)
    assert credentials["refresh_token"] in graph.refresh_tokens
    assert credentials["tenant_id"] == graph.people["owner@alpha.example"]

    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()

    assert (connector.state, connector.added, connector.error) == (SyncState.IDLE, 2, "")
    assert _titles(workspace) == {"leave", "expenses"}
    # Microsoft sent a new refresh token with the access token: the one kept is the newest.
    assert credentials_open(connector)["refresh_token"] == graph.refresh_tokens_issued[-1]


def test_the_buttons_are_not_shown_without_our_apps_client(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)

    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    start = client.post(f"/w/{workspace.slug}/sources/connect/google/")

    assert "Connect Google Drive" not in page and "Connect SharePoint" not in page
    assert "Add a Google Drive folder" in page  # the service account's form remains
    assert start.status_code == 404


def test_cancelling_the_consent_stores_nothing_and_says_so(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    client = signed_in(org_a, owner_a)

    started = client.post(f"/w/{workspace.slug}/sources/connect/google/")
    back = Browser().consent(started["Location"], decision="deny")
    finished = client.get(_path(_via_public_site(back)), follow=True)

    assert parse_qs(urlsplit(back).query)["error"] == ["access_denied"]
    assert finished.status_code == 200
    assert "Google Drive was not connected: access was not allowed." in finished.content.decode()
    assert not Connector.objects.exists()
    assert "source_consent_grant" not in client.session
    event = AuditEvent.objects.get(action=AuditAction.SOURCE_CONSENT_FAILED)
    assert event.details["provider"] == "google"


def test_microsoft_cancel_is_a_message_on_the_sources_page(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal
):
    client = signed_in(org_a, owner_a)

    started = client.post(f"/w/{workspace.slug}/sources/connect/microsoft/")
    back = Browser(verify=graph.ca_file).consent(started["Location"], decision="deny")
    finished = client.get(_path(_via_public_site(back)), follow=True)

    assert "SharePoint / OneDrive was not connected" in finished.content.decode()
    assert not Connector.objects.exists()


def test_forged_replayed_and_foreign_states_are_refused(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    owner = signed_in(org_a, owner_a)
    admin = make_member(email="admin@alpha.example", role=Role.ADMIN)
    other = signed_in(org_a, admin)
    started = owner.post(f"/w/{workspace.slug}/sources/connect/google/")
    finish = _path(_via_public_site(Browser().consent(started["Location"])))

    forged_public = Client(HTTP_HOST=django_settings.BASE_DOMAIN).get(
        "/sources/oauth/callback/?code=abc&state=made-up"
    )
    with tenant_context(org_a):
        foreign = other.get(finish)  # another admin's session and user
        used = owner.get(finish)
        replayed = owner.get(finish)
        forged = owner.get("/sources/oauth/finish/?code=abc&state=made-up")

    assert forged_public.status_code == 400
    assert forged.status_code == foreign.status_code == replayed.status_code == 400
    assert "This connection link has expired" in replayed.content.decode()
    assert used.status_code == 302  # the owner's own, once
    with tenant_context(org_a):
        assert not Connector.objects.exists()
        assert AuditEvent.objects.filter(action=AuditAction.SOURCE_CONSENT_FAILED).count() == 3


def test_a_state_of_another_organization_is_refused(
    org_a: Organization, org_b: Organization, owner_a: User, workspace: Workspace,
    drive: DriveLocal,
):  # fmt: skip
    owner = signed_in(org_a, owner_a)
    started = owner.post(f"/w/{workspace.slug}/sources/connect/google/")
    finish = urlsplit(_via_public_site(Browser().consent(started["Location"])))
    with tenant_context(org_b):
        bravo_owner = User.objects.get(email="owner@bravo.example")
    bravo = signed_in(org_b, bravo_owner)

    refused = bravo.get(f"{finish.path}?{finish.query}")

    assert refused.status_code == 400
    with tenant_context(org_b):
        assert not Connector.objects.exists()


def test_a_code_the_provider_refuses_stores_nothing(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    client = signed_in(org_a, owner_a)
    started = client.post(f"/w/{workspace.slug}/sources/connect/google/")
    back = _via_public_site(Browser().consent(started["Location"]))
    drive.codes.clear()  # the code expired at Google

    finished = client.get(_path(back), follow=True)

    assert finished.status_code == 200
    assert "Google did not accept the authorization: Malformed auth code." in (
        finished.content.decode()
    )
    assert not Connector.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.SOURCE_CONSENT_FAILED).exists()


def test_choose_page_without_a_consent_sends_back_to_sources(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    client = signed_in(org_a, owner_a)

    response = client.post(f"/w/{workspace.slug}/sources/connect/google/choose/", {})

    assert response.status_code == 302
    assert not Connector.objects.exists()


def test_revoked_consent_asks_to_reconnect_and_reconnect_syncs_again(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: str
):
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    client.post(choose, {"folder_id": handbook})
    connector = Connector.objects.get()
    connector_sync_run(connector_id=connector.pk)
    drive.revoke("owner@alpha.example")
    drive.add("remote.txt", b"Remote work is allowed two days a week.", parents=(handbook,))

    sync = client.post(f"/w/{workspace.slug}/sources/{connector.pk}/sync/")
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    page = client.get(f"/w/{workspace.slug}/sources/")

    assert sync.status_code == 302
    assert connector.state == SyncState.RECONNECT and connector.next_sync_at is None
    assert "Reconnect it to sync again" in connector.error
    assert page.status_code == 200
    assert 'data-testid="reconnect"' in page.content.decode()
    assert "Needs reconnecting" in page.content.decode()
    assert _titles(workspace) == {"leave", "travel"}  # what was synced stays

    reconnect = client.post(f"/w/{workspace.slug}/sources/{connector.pk}/reconnect/")
    back = _via_public_site(Browser().consent(reconnect["Location"]))
    done = client.get(_path(back))
    connector.refresh_from_db()
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()

    assert done.status_code == 302 and done["Location"] == f"/w/{workspace.slug}/sources/"
    assert connector.state == SyncState.IDLE and connector.error == ""
    assert credentials_open(connector)["refresh_token"] in drive.refresh_tokens
    assert _titles(workspace) == {"leave", "travel", "remote"}
    assert AuditEvent.objects.filter(action=AuditAction.SOURCE_RECONNECTED).count() == 1


def test_revoked_microsoft_consent_asks_to_reconnect(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))
    client.post(choose, {"user": "owner@alpha.example"})
    connector = Connector.objects.get()
    graph.revoke("owner@alpha.example")

    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    refused = client.post(f"/w/{workspace.slug}/sources/{connector.pk}/sync/", follow=True)

    assert connector.state == SyncState.RECONNECT
    assert "AADSTS50173" in connector.error
    assert "must be reconnected" in refused.content.decode()
    assert not Document.objects.filter(workspace=workspace).exists()


def test_the_permission_sync_finds_a_withdrawn_consent_too(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: str
):
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    client.post(choose, {"folder_id": handbook})
    connector = Connector.objects.get()
    connector_sync_run(connector_id=connector.pk)
    drive.revoke("owner@alpha.example")

    changed = connector_readers_sync(connector_id=connector.pk)
    connector.refresh_from_db()
    again = connector_readers_sync(connector_id=connector.pk)
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()

    assert (changed, again) == (0, 0)
    assert connector.state == SyncState.RECONNECT
    assert "Token has been expired or revoked" in connector.error
    assert 'data-testid="reconnect"' in page


def test_a_code_microsoft_refuses_stores_nothing(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal
):
    client = signed_in(org_a, owner_a)
    started = client.post(f"/w/{workspace.slug}/sources/connect/microsoft/")
    back = _via_public_site(Browser(verify=graph.ca_file).consent(started["Location"]))
    graph.codes.clear()  # the code expired at Microsoft

    finished = client.get(_path(back), follow=True)

    assert finished.status_code == 200
    assert "Microsoft did not grant access: AADSTS70008" in finished.content.decode()
    assert not Connector.objects.exists()
    assert "source_consent_grant" not in client.session


def test_a_consent_sealed_under_a_key_since_gone_asks_to_reconnect_and_reconnecting_mends_it(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: str,
    settings,
):  # fmt: skip
    settings.SECRETS_KEYSET = keyset_new()
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    client.post(choose, {"folder_id": handbook})
    connector = Connector.objects.get()
    settings.SECRETS_KEYSET = keyset_new()

    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    page = client.get(f"/w/{workspace.slug}/sources/")

    assert connector.state == SyncState.RECONNECT
    assert "sign-in cannot be read with the keys this service has" in connector.error
    assert page.status_code == 200
    assert 'data-testid="reconnect"' in page.content.decode()

    reconnect = client.post(f"/w/{workspace.slug}/sources/{connector.pk}/reconnect/")
    client.get(_path(_via_public_site(Browser().consent(reconnect["Location"]))))
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()

    assert connector.state == SyncState.IDLE and connector.error == ""
    assert _titles(workspace) == {"leave", "travel"}


def test_our_client_refused_at_refresh_fails_the_sync_without_asking_to_reconnect(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: str,
    settings,
):  # fmt: skip
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    client.post(choose, {"folder_id": handbook})
    connector = Connector.objects.get()
    settings.GOOGLE_OAUTH_CLIENT_SECRET = "GOCSPX-an-old-secret"  # rotated wrongly by an operator

    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()

    assert connector.state == SyncState.FAILED
    assert connector.error == "Google refused to refresh the access (invalid_client: Unauthorized)."
    assert connector.next_sync_at is not None  # tried again on its schedule
