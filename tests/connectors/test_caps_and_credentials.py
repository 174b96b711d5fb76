"""A sync past the plan's document cap stops with a readable reason and keeps what it
synced; a source's credentials are encrypted at rest (accounts.secrets_at_rest), and a sync
whose credentials no longer open stops with a sentence (tests/test_secrets_rotate.py rotates
them)."""

from accounts.models import User
from accounts.secrets_at_rest import keyset_new
from connectors.credentials import credentials_open
from connectors.models import Connector, SyncState
from connectors.services import website_connector_add
from connectors.sync import connector_sync_run
from localdev.kms_server import KmsLocalServer
from localdev.website_server import WebsiteLocal
from tenants.models import Organization
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from workspaces.models import Document, Workspace


def test_a_sync_past_the_document_cap_stops_with_the_reason_and_keeps_what_it_synced(
    website: Connector, workspace: Workspace
):
    plan_caps("free", max_documents=2)

    connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    assert website.state == SyncState.FAILED
    assert "limit of 2 documents" in website.error
    assert "what was synced before is kept" in website.error
    assert Document.objects.filter(workspace=workspace).count() == 2
    assert website.added == 2


def test_a_site_behind_a_password_is_synced_with_credentials_kept_encrypted(
    owner_a: User, workspace: Workspace, site: WebsiteLocal, settings
):
    site.basic_auth = ("reader", "correct horse battery staple")
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="reader",
        password="correct horse battery staple",
    )  # fmt: skip

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.added == 4, connector.error
    assert "correct horse" not in connector.credentials_encrypted
    assert "reader" not in connector.credentials_encrypted
    assert credentials_open(connector)["password"] == "correct horse battery staple"


def test_credentials_under_a_key_no_longer_configured_stop_the_sync_and_the_page_says_why(
    org_a: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal, settings
):
    settings.SECRETS_KEYSET = keyset_new()
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="reader",
        password="s3cret",
    )  # fmt: skip
    settings.SECRETS_KEYSET = keyset_new()

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.state == SyncState.FAILED
    assert "credentials cannot be read with the keys this service has" in connector.error
    page = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/sources/")
    assert page.status_code == 200
    assert "credentials cannot be read with the keys this service has" in page.content.decode()
    assert "add it again with its credentials" in page.content.decode()


def test_credentials_are_wrapped_by_the_cloud_kms_key_and_synced_with(
    owner_a: User, workspace: Workspace, site: WebsiteLocal, kms: KmsLocalServer
):
    site.basic_auth = ("reader", "correct horse battery staple")
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="reader",
        password="correct horse battery staple",
    )  # fmt: skip

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.added == 4, connector.error
    assert connector.credentials_encrypted.startswith("env1:kms:")
    assert [request["method"] for request in kms.requests] == ["encrypt", "decrypt"]
