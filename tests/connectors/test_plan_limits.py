"""The plan's limits on sources: how many an organization may connect, the shortest
schedule they sync on, and the document and storage caps a sync meets (it stops with the
reason and keeps what it synced; once there is room, the next sync adds the rest and
fetches nothing it had)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from billing.caps import CapReached
from connectors.models import Connector, Schedule, SyncState
from connectors.services import ConnectorError, connector_settings_set, website_connector_add
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal
from tenants.models import Organization
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from tests.factories import plan_switched
from workspaces.models import Document, Workspace


def _add(owner: User, workspace: Workspace, site: WebsiteLocal, path: str, **fields) -> Connector:
    return website_connector_add(
        actor=owner, workspace=workspace, start_url=site.url(path), **fields
    )


def test_a_source_past_the_plans_number_is_refused_with_a_sentence_on_the_page(
    org_a: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    plan_caps("free", max_sources=2)
    _add(owner_a, workspace, site, "/help/")
    _add(owner_a, workspace, site, "/blog/")
    client = signed_in(org_a, owner_a)

    response = client.post(f"/w/{workspace.slug}/sources/website/",
                           {"start_url": site.url("/help/leave.html")})  # fmt: skip

    assert response.status_code == 400
    page = response.content.decode()
    assert "limit of 2 connected sources (2 used)" in page
    assert "Upgrade the plan to add more." in page
    assert Connector.objects.count() == 2


def test_the_service_raises_the_cap_and_removing_a_source_makes_room(
    owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    plan_caps("free", max_sources=1)
    first = _add(owner_a, workspace, site, "/help/")

    with pytest.raises(CapReached) as reached:
        _add(owner_a, workspace, site, "/blog/")
    first.delete()
    second = _add(owner_a, workspace, site, "/blog/")

    assert reached.value.meter == "sources"
    assert list(Connector.objects.all()) == [second]


def test_a_schedule_faster_than_the_plan_allows_is_refused_with_a_sentence(
    org_a: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    plan_caps("free", min_sync_interval_minutes=Schedule.DAILY)
    client = signed_in(org_a, owner_a)

    added = client.post(f"/w/{workspace.slug}/sources/website/",
                        {"start_url": site.url("/help/"), "schedule": Schedule.HOURLY})  # fmt: skip
    daily = _add(owner_a, workspace, site, "/help/", schedule=Schedule.DAILY)
    changed = client.post(f"/w/{workspace.slug}/sources/{daily.pk}/settings/",
                          {"schedule": Schedule.HOURLY}, follow=True)  # fmt: skip
    manual = connector_settings_set(
        actor=owner_a, connector=daily, schedule=Schedule.MANUAL, paused=False
    )

    assert added.status_code == 400
    sentence = "plan keeps sources synced at most daily: choose a less frequent schedule"
    assert sentence in added.content.decode()
    assert sentence in changed.content.decode()
    assert Connector.objects.count() == 1
    assert manual.schedule == Schedule.MANUAL  # only when asked: always allowed
    with pytest.raises(ConnectorError, match="synced at most daily"):
        connector_settings_set(
            actor=owner_a, connector=daily, schedule=Schedule.HOURLY, paused=False
        )


def test_a_plan_with_hourly_syncs_takes_an_hourly_schedule_and_a_downgrade_slows_it(
    org_a: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    with plan_switched(org_a, name="Team", min_sync_interval_minutes=Schedule.HOURLY):
        hourly = _add(owner_a, workspace, site, "/help/", schedule=Schedule.HOURLY)
        connector_sync_run(connector_id=hourly.pk)
        hourly.refresh_from_db()
        assert hourly.next_sync_at is not None and hourly.last_synced_at is not None
        assert hourly.next_sync_at - hourly.last_synced_at == timedelta(hours=1)

    plan_caps("free", min_sync_interval_minutes=Schedule.DAILY)
    connector_settings_set(actor=owner_a, connector=hourly, schedule=Schedule.HOURLY, paused=False)
    hourly.refresh_from_db()

    assert hourly.schedule == Schedule.HOURLY  # kept, as chosen on the richer plan
    assert hourly.next_sync_at is not None
    assert hourly.next_sync_at >= timezone.now() + timedelta(hours=23)


def test_a_sync_past_the_storage_cap_stops_with_the_reason_and_keeps_what_it_synced(
    owner_a: User, website: Connector, workspace: Workspace
):
    plan_caps("free", max_documents=2)
    connector_sync_run(connector_id=website.pk)
    kept = set(Document.objects.filter(workspace=workspace).values_list("pk", "version"))
    stored = sum(Document.objects.filter(workspace=workspace).values_list("size", flat=True))
    # Room for the two documents synced and not one byte more.
    plan_caps("free", max_documents=100, max_storage_bytes=stored)
    from connectors.services import connector_sync_request

    website.refresh_from_db()
    connector_sync_request(actor=owner_a, connector=website)
    connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    assert website.state == SyncState.FAILED
    assert f"limit of {stored} bytes of storage" in website.error.replace("\xa0", " ")
    assert "what was synced before is kept" in website.error
    assert set(Document.objects.filter(workspace=workspace).values_list("pk", "version")) == kept
    assert (website.added, website.unchanged) == (0, 2)


def test_after_a_cap_stopped_a_sync_the_next_one_adds_the_rest_and_refetches_nothing(
    owner_a: User, website: Connector, workspace: Workspace, site: WebsiteLocal
):
    plan_caps("free", max_documents=2)
    connector_sync_run(connector_id=website.pk)
    kept = set(Document.objects.filter(workspace=workspace).values_list("pk", flat=True))
    plan_caps("free", max_documents=100)
    from connectors.services import connector_sync_request

    website.refresh_from_db()
    connector_sync_request(actor=owner_a, connector=website)
    connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    documents = set(Document.objects.filter(workspace=workspace).values_list("pk", flat=True))
    assert website.state == SyncState.IDLE, website.error
    assert (website.added, website.unchanged, website.removed) == (2, 2, 0)
    assert kept < documents and len(documents) == 4
    # The two pages synced before were asked with their validators and answered 304.
    assert site.fetched("/help/", 304) == 1 and site.fetched("/help/leave.html", 304) == 1
