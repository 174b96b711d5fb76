"""A source's address must be on the public internet, on every redirect too: the tests'
own machine is allowed only through CONNECTOR_ALLOWED_PRIVATE_NETWORKS, which these tests
narrow or empty."""

import pytest

from accounts.models import User
from connectors.models import Connector, ConnectorItem, ItemState
from connectors.services import ConnectorError, website_connector_add
from connectors.sources.guarded_http import retry_after_seconds
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal
from workspaces.models import Document, Workspace


@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1/", "http://localhost/", "http://10.1.2.3/", "http://192.168.0.10/",
     "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:10.0.0.1]/",
     "http://100.64.0.1/", "http://0.0.0.0/"],
)  # fmt: skip
def test_a_private_loopback_or_link_local_address_is_refused(
    address: str, owner_a: User, workspace: Workspace, settings
):
    settings.CONNECTOR_ALLOWED_PRIVATE_NETWORKS = []

    with pytest.raises(ConnectorError, match="private or local address"):
        website_connector_add(actor=owner_a, workspace=workspace, start_url=address)

    assert not Connector.objects.exists()


def test_an_address_that_is_not_a_web_address_is_refused(owner_a: User, workspace: Workspace):
    with pytest.raises(ConnectorError, match="is not a web address"):
        website_connector_add(actor=owner_a, workspace=workspace, start_url="file:///etc/passwd")


def test_a_redirect_to_a_private_address_is_refused_and_the_item_fails(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    site.redirects["/help/expenses.html"] = "http://169.254.169.254/latest/meta-data/"
    site.redirects["/help/security.html"] = "http://[::1]:9/"

    connector_sync_run(connector_id=website.pk)

    failed = ConnectorItem.objects.filter(connector=website, state=ItemState.FAILED)
    assert {item.url for item in failed} == {
        site.url("/help/expenses.html"),
        site.url("/help/security.html"),
    }
    assert all("private or local address" in item.error for item in failed)
    assert Document.objects.filter(workspace=workspace).count() == 2


def test_a_redirect_within_the_site_is_followed(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    site.redirects["/help/security.html"] = "/help/security-2026.html"
    site.html("/help/security-2026.html", "Security policy 2026", "<p>Laptops lock fast.</p>")

    connector_sync_run(connector_id=website.pk)

    security = Document.objects.get(source_url=site.url("/help/security.html"))
    assert security.title == "Security policy 2026"


def test_retry_after_is_read_as_seconds_or_as_a_date():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
