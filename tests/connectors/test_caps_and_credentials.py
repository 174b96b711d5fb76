"""A sync past the plan's document cap stops with a readable reason and keeps what it
synced; a source's credentials are encrypted at rest and survive a key rotation."""

from cryptography.fernet import Fernet

from accounts.models import User
from connectors.credentials import credentials_open
from connectors.models import Connector, SyncState
from connectors.services import website_connector_add
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal
from tests.billing.conftest import plan_caps
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


def test_credentials_under_a_key_no_longer_configured_stop_the_sync_with_the_reason(
    owner_a: User, workspace: Workspace, site: WebsiteLocal, settings
):
    settings.CONNECTOR_SECRET_KEYS = [Fernet.generate_key().decode()]
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="reader",
        password="s3cret",
    )  # fmt: skip
    settings.CONNECTOR_SECRET_KEYS = [Fernet.generate_key().decode()]

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.state == SyncState.FAILED
    assert "cannot be read with the configured keys" in connector.error


def test_the_rotate_command_re_encrypts_every_organizations_credentials(
    owner_a: User, workspace: Workspace, site: WebsiteLocal, settings
):
    from io import StringIO

    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTOR_SECRET_KEYS = [old]
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="reader",
        password="s3cret",
    )  # fmt: skip
    settings.CONNECTOR_SECRET_KEYS = [new, old]
    output = StringIO()

    call_command("connector_secrets_rotate", stdout=output)

    settings.CONNECTOR_SECRET_KEYS = [new]
    connector.refresh_from_db()
    assert credentials_open(connector)["password"] == "s3cret"
    assert "Re-encrypted the credentials of 1 sources." in output.getvalue()
