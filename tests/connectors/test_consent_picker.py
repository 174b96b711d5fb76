"""Picking what to sync by browsing the consented account's folders (issue 27): after the
consent round trip, the choose page lists the account's folders through the same client
libraries the sync uses (google-api-python-client; msgraph-sdk with msal) against the local
servers, a folder opens into its folders (the HTMX partial), a radio picks one, and the
source made syncs it. A provider that refuses, or is busy, is a sentence in the picker,
never a 500; nobody but the session that consented may browse."""

import html
import json
import re

from django.test import Client

from accounts.models import Role, User
from connectors.models import Connector, SyncState
from connectors.sync import connector_sync_run
from localdev.drive_server import DriveLocal
from localdev.graph_server import GraphDrive, GraphLocal
from tenants.models import Organization
from tests.conftest import signed_in
from tests.connectors import test_consent
from tests.connectors.test_consent import Browser, _connect, _titles
from tests.factories import make_member
from workspaces.models import Workspace

# The consent tests' local servers, with our app's OAuth clients registered.
drive, graph, onedrive = test_consent.drive, test_consent.graph, test_consent.onedrive


def _choices(page: str) -> dict[str, dict[str, str]]:
    """The picker's radios: their label -> the selection each fills."""
    found = re.findall(
        r'<input type="radio" name="picked" value="([^"]*)"[^>]*>([^<]*)</label>', page
    )
    return {
        html.unescape(label).strip(): json.loads(html.unescape(value)) for value, label in found
    }


def _opens(page: str) -> dict[str, str]:
    """The picker's "Open" links (HTMX): the folder's name -> the partial's address."""
    found = re.findall(r'hx-get="([^"]*)"[^>]*aria-label="Open ([^"]*)"', page)
    return {html.unescape(name): html.unescape(url) for url, name in found}


def test_google_drive_folders_are_listed_opened_and_picked_and_the_pick_syncs(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    handbook = drive.folder("Handbook")
    hr = drive.folder("HR", parents=(handbook.id,))
    drive.add("leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
              mime_type="text/markdown", parents=(hr.id,))  # fmt: skip
    drive.add("intro.txt", b"Welcome to the handbook.", parents=(handbook.id,))
    drive.folder("Archive")
    drive.add("loose.txt", b"A file at the top, not a folder.")
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())

    page = client.get(choose).content.decode()
    opened = client.get(_opens(page)["Handbook"], HTTP_HX_REQUEST="true")
    inside = opened.content.decode()
    added = client.post(choose, {"picked": json.dumps(_choices(inside)["HR"]), "schedule": 1440})

    assert set(_choices(page)) == {"Everything you may read in Google Drive", "Archive", "Handbook"}
    assert "loose.txt" not in page and "access_token" not in page
    assert opened.status_code == 200 and inside.strip().startswith('<fieldset id="picker"')
    assert set(_choices(inside)) == {"This folder: Handbook", "HR"}
    assert 'data-testid="picker-up"' in inside
    assert added.status_code == 302
    connector = Connector.objects.get()
    assert connector.selection["folder_id"] == hr.id
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    assert (connector.state, connector.added) == (SyncState.IDLE, 1)
    assert _titles(workspace) == {"leave"}
    # Only folders were asked for, through files.list's query.
    queries = [query for method, path, query in drive.hits if path == "/drive/v3/files"]
    assert any("mimeType" in query and "root" in query for query in queries)


def test_a_long_google_level_is_read_page_by_page(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    for number in range(130):
        drive.folder(f"Team {number:03d}")
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())

    page = client.get(choose).content.decode()

    assert len(_opens(page)) == 130
    assert any("pageToken=100" in query for method, path, query in drive.hits)


def test_a_withdrawn_google_consent_is_a_sentence_in_the_picker_not_an_error_page(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    drive.folder("Handbook")
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    drive.revoke("owner@alpha.example")

    page = client.get(choose)
    partial = client.get(choose + "folders/", HTTP_HX_REQUEST="true")

    assert page.status_code == 200 and partial.status_code == 200
    text = page.content.decode()
    assert "Google Drive no longer accepts the access you gave" in text
    assert "Connect Google Drive again" in text
    assert 'data-testid="browse-refusal"' in partial.content.decode()
    assert 'id="id_folder_id"' in text  # pasting an ID stays possible


def test_a_busy_provider_says_so_with_a_retry_that_works(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    drive.folder("Handbook")
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())
    drive.rate_limit("/drive/v3/files", retry_after=7)

    busy = client.get(choose).content.decode()
    retry = re.findall(r'hx-get="([^"]*)"[^>]*data-testid="browse-retry"', busy)
    again = client.get(html.unescape(retry[0]), HTTP_HX_REQUEST="true").content.decode()

    assert "Google Drive is asking for fewer requests just now; try again in 7 seconds." in busy
    assert "Handbook" in _choices(again)


def test_only_the_session_that_consented_may_browse(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    drive.folder("Handbook")
    owner = signed_in(org_a, owner_a)
    choose = _connect(owner, workspace, "google", Browser())
    admin = signed_in(org_a, make_member(email="admin@alpha.example", role=Role.ADMIN))
    owner_elsewhere = signed_in(org_a, owner_a)  # the same person, another session

    mine = owner.get(choose + "folders/")
    theirs = admin.get(choose + "folders/")
    elsewhere = owner_elsewhere.get(choose + "folders/")
    anonymous = Client(HTTP_HOST=owner.defaults["HTTP_HOST"]).get(choose + "folders/")

    assert mine.status_code == 200
    assert theirs.status_code == elsewhere.status_code == 404
    assert anonymous.status_code == 302  # to sign in


def test_a_picked_choice_that_is_not_one_is_refused_with_a_sentence(
    org_a: Organization, owner_a: User, workspace: Workspace, drive: DriveLocal
):
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "google", Browser())

    refused = client.post(choose, {"picked": '{"site_url": "https://evil.example"}'})

    assert refused.status_code == 400
    assert "Pick a folder from the list again." in refused.content.decode()
    assert not Connector.objects.exists()


def test_onedrive_and_followed_sites_are_listed_and_a_folder_picked_syncs(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    graph.page_size = 1  # every listing in pages of one: @odata.nextLink followed
    hr_site = graph.site("alpha.sharepoint.com", "/sites/hr", "HR")
    graph.folder(hr_site, "Contracts")
    graph.follow("owner@alpha.example", hr_site)
    graph.follow("owner@alpha.example", graph.site("alpha.sharepoint.com", "/sites/it", "IT"))
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))

    top = client.get(choose).content.decode()
    mine = client.get(_opens(top)["Your OneDrive (owner@alpha.example)"]).content.decode()
    site = client.get(_opens(top)["HR (SharePoint)"]).content.decode()
    added = client.post(choose, {"picked": json.dumps(_choices(mine)["Policies"])})

    assert set(_choices(top)) == {"Your OneDrive (owner@alpha.example)", "HR (SharePoint)",
                                  "IT (SharePoint)"}  # fmt: skip
    assert set(_choices(mine)) == {"This folder: Your OneDrive", "Policies"}
    assert _choices(site)["Contracts"] == {
        "site_url": "https://alpha.sharepoint.com/sites/hr",
        "folder": "Contracts",
    }
    assert added.status_code == 302
    connector = Connector.objects.get()
    assert (connector.selection["user"], connector.selection["folder"]) == (
        "owner@alpha.example",
        "Policies",
    )
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    assert (connector.state, connector.added) == (SyncState.IDLE, 2)
    assert _titles(workspace) == {"leave", "expenses"}


def test_a_withdrawn_microsoft_consent_is_a_sentence_in_the_picker(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))
    graph.revoke("owner@alpha.example")

    page = client.get(choose)

    assert page.status_code == 200
    assert "SharePoint / OneDrive no longer accepts the access you gave" in page.content.decode()


def test_a_throttled_graph_is_a_sentence_in_the_opened_folder(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))
    top = client.get(choose).content.decode()
    graph.rate_limit("/children", retry_after=5)

    busy = client.get(_opens(top)["Your OneDrive (owner@alpha.example)"], HTTP_HX_REQUEST="true")
    again = client.get(_opens(top)["Your OneDrive (owner@alpha.example)"], HTTP_HX_REQUEST="true")

    assert busy.status_code == 200
    assert (
        "SharePoint / OneDrive is asking for fewer requests just now; try again in 5 seconds."
        in (busy.content.decode())
    )
    assert 'data-testid="browse-retry"' in busy.content.decode()
    assert "Policies" in _choices(again.content.decode())


def test_a_site_not_followed_is_found_by_searching_and_picked(
    org_a: Organization, owner_a: User, workspace: Workspace, graph: GraphLocal,
    onedrive: GraphDrive,
):  # fmt: skip
    graph.page_size = 1
    finance = graph.site("alpha.sharepoint.com", "/sites/finance", "Finance")
    graph.add(finance, "budget.txt", b"The travel budget is 40,000 euros this year.")
    graph.site("alpha.sharepoint.com", "/sites/finance-archive", "Finance archive")
    graph.site("alpha.sharepoint.com", "/sites/hr", "HR")
    client = signed_in(org_a, owner_a)
    choose = _connect(client, workspace, "microsoft", Browser(verify=graph.ca_file))

    top = client.get(choose).content.decode()
    found = client.get(choose + "folders/?search=finance", HTTP_HX_REQUEST="true")
    sites = _choices(found.content.decode())
    added = client.post(choose, {"picked": json.dumps(sites["Finance (SharePoint)"])})

    assert 'form="site-search"' in top and 'id="site-search"' in top
    assert set(sites) == {"Finance (SharePoint)", "Finance archive (SharePoint)"}
    assert added.status_code == 302
    connector = Connector.objects.get()
    assert connector.selection["site_url"] == "https://alpha.sharepoint.com/sites/finance"
    connector_sync_run(connector_id=connector.pk)
    assert _titles(workspace) == {"budget"}
