"""Sources through the API: a key with the "sources" scope that may edit a workspace lists,
connects, syncs and removes its sources; credentials go in and never come out; the access
policy decides as on the pages (not readable: 404; readable but not manageable: 403), and
the plan's limits are problem details with a sentence."""

import json
from collections.abc import Iterator

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from audit.models import AuditAction, AuditEvent
from connectors.models import Connector, SyncState
from connectors.sync import connector_sync_run
from localdev.drive_server import DriveLocal
from localdev.website_server import WebsiteLocal
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Document

PASSWORD = "correct horse battery staple"


@pytest.fixture
def site() -> Iterator[WebsiteLocal]:
    local = WebsiteLocal().start()
    local.html("/help/", "Help", "<p>Parking is behind building C, free for staff.</p>",
               ("/help/badges.html",))  # fmt: skip
    local.html("/help/badges.html", "Badges", "<p>Lost badges are replaced at reception.</p>")
    yield local
    local.stop()


def _sources_key(org: ApiOrg, level: str = "editor", scopes: tuple[str, ...] = ("read", "sources")):
    return key_issue(org, scopes=scopes, workspaces=[org.handbook], level=level)


def _website(site: WebsiteLocal, **fields: object) -> dict[str, object]:
    return {"kind": "website", "start_url": site.url("/help/"), **fields}


def test_a_key_with_the_sources_scope_connects_syncs_and_removes_a_website(
    db: None, api_org: ApiOrg, site: WebsiteLocal
):
    api = api_client(api_org, _sources_key(api_org))

    created = api.post("workspaces/handbook/sources/",
                       _website(site, username="reader", password=PASSWORD))  # fmt: skip
    assert created.status_code == 201, created.content
    source = created.json()
    with tenant_context(api_org.organization):
        connector_sync_run(connector_id=source["id"])
    listed = api.get("workspaces/handbook/sources/").json()
    synced = api.get(f"sources/{source['id']}/").json()
    queued = api.post(f"sources/{source['id']}/sync/")
    again = api.post(f"sources/{source['id']}/sync/")
    removed = api.delete(f"sources/{source['id']}/?delete_documents=true")

    assert (source["kind"], source["state"], source["workspace"]) == (
        "website", SyncState.QUEUED, "handbook")  # fmt: skip
    assert source["selection"] == {"start_url": site.url("/help/"), "prefix": site.url("/help/")}
    assert source["has_credentials"] is True
    assert [s["id"] for s in listed] == [source["id"]]
    assert (synced["state"], synced["added"], synced["documents"]) == (SyncState.IDLE, 2, 2)
    assert queued.status_code == 202 and queued.json()["state"] == SyncState.QUEUED
    assert "syncing already" in assert_problem(again, 400)["detail"]
    assert removed.status_code == 204
    with tenant_context(api_org.organization):
        assert not Connector.objects.filter(pk=source["id"]).exists()
        assert not Document.objects.filter(title__in=["Help", "Badges"]).exists()
        actions = list(
            AuditEvent.objects.filter(target_id=str(source["id"]), action__startswith="source.")
            .order_by("pk")
            .values_list("action", "actor__email")
        )
    assert [action for action, _ in actions] == [
        AuditAction.SOURCE_ADDED, AuditAction.SOURCE_SYNC_REQUESTED, AuditAction.SOURCE_REMOVED,
    ]  # fmt: skip
    assert all(email.endswith("@api-keys.invalid") for _, email in actions)


def test_credentials_go_in_and_never_come_out(
    db: None, api_org: ApiOrg, site: WebsiteLocal, settings
):
    drive = DriveLocal()
    key_file = json.dumps(drive.service_account())
    api = api_client(api_org, _sources_key(api_org))

    website = api.post("workspaces/handbook/sources/",
                       _website(site, username="reader", password=PASSWORD))  # fmt: skip
    folder = api.post("workspaces/handbook/sources/",
                      {"kind": "google_drive", "key_file": key_file, "folder_id": "f00001"})  # fmt: skip
    answers = [website, folder, api.get("workspaces/handbook/sources/"),
               api.get(f"sources/{folder.json()['id']}/")]  # fmt: skip

    assert [answer.status_code for answer in answers] == [201, 201, 200, 200]
    for answer in answers:
        text = answer.content.decode()
        assert PASSWORD not in text and "reader" not in text
        assert "PRIVATE KEY" not in text and "key_file" not in text
    assert folder.json()["selection"] == {"folder_id": "f00001", "subject": ""}


def test_who_may_manage_sources_is_the_access_policys_answer(
    db: None, api_org: ApiOrg, site: WebsiteLocal
):
    editor = api_client(api_org, _sources_key(api_org))
    source = editor.post("workspaces/handbook/sources/", _website(site)).json()
    without_scope = api_client(api_org, _sources_key(api_org, scopes=("read", "ingest")))
    viewer = api_client(api_org, _sources_key(api_org, level="viewer"))

    assert "“sources” scope" in assert_problem(without_scope.get("workspaces/handbook/sources/"),
                                               403)["detail"]  # fmt: skip
    refused = assert_problem(viewer.post("workspaces/handbook/sources/", _website(site)), 403)
    assert "may read “Handbook” but not manage its sources" in refused["detail"]
    assert_problem(viewer.get(f"sources/{source['id']}/"), 403)
    assert_problem(viewer.delete(f"sources/{source['id']}/"), 403)
    # A workspace the key may not read, and its sources: 404, as for people.
    assert_problem(editor.get("workspaces/finance/sources/"), 404)
    assert_problem(editor.post("workspaces/finance/sources/", _website(site)), 404)
    with tenant_context(api_org.organization):
        finance_source = Connector.objects.create(
            workspace=api_org.finance, kind="website", name="Finance site",
            selection={"start_url": site.url("/help/")}, created_by=api_org.owner,
        )  # fmt: skip
    assert_problem(editor.get(f"sources/{finance_source.pk}/"), 404)
    assert_problem(editor.post(f"sources/{finance_source.pk}/sync/"), 404)
    assert_problem(editor.delete(f"sources/{finance_source.pk}/"), 404)
    with tenant_context(api_org.organization):
        assert Connector.objects.count() == 2


def test_a_signed_in_owner_may_and_a_member_may_not_with_csrf_kept(
    db: None, api_org: ApiOrg, site: WebsiteLocal
):
    with tenant_context(api_org.organization):
        member = make_member()
    reader = signed_in(api_org.organization, member)
    owner = signed_in(api_org.organization, api_org.owner)
    forged = Client(enforce_csrf_checks=True, HTTP_HOST=f"{api_org.organization.slug}.localhost")
    with tenant_context(api_org.organization):
        forged.force_login(api_org.owner)

    member_list = reader.get("/api/v1/workspaces/everyone/sources/")
    owner_list = owner.get("/api/v1/workspaces/everyone/sources/")
    without_token = forged.post("/api/v1/workspaces/everyone/sources/", _website(site),
                                content_type="application/json")  # fmt: skip

    assert "not manage its sources" in assert_problem(member_list, 403)["detail"]
    assert owner_list.status_code == 200 and owner_list.json() == []
    assert "CSRF" in assert_problem(without_token, 403)["detail"]


def test_plan_limits_and_bad_bodies_are_problems_with_a_sentence(
    db: None, api_org: ApiOrg, site: WebsiteLocal
):
    api = api_client(api_org, _sources_key(api_org))
    plan_caps("free", max_sources=1, min_sync_interval_minutes=1440)

    hourly = api.post("workspaces/handbook/sources/", _website(site, schedule=60))
    first = api.post("workspaces/handbook/sources/", _website(site))
    second = api.post("workspaces/handbook/sources/", _website(site, start_url=site.url("/x/")))

    assert "synced at most daily" in assert_problem(hourly, 400)["detail"]
    assert first.status_code == 201
    cap = assert_problem(second, 403)
    assert cap["type"] == "/api/v1/problems/cap-reached"
    assert "limit of 1 connected sources (1 used)" in cap["detail"]

    for body, says in [
        ({"start_url": site.url("/help/")}, "Give the kind of source: one of website, "),
        ({"kind": "dropbox"}, "Give the kind of source"),
        ({"kind": "website", "start_url": "not a url"}, "Enter a valid URL"),
        ({"kind": "website", "start_url": "http://10.0.0.7/"}, "private or local address"),
        ({"kind": "website", "start_url": site.url("/"), "schedule": 5}, "schedule"),
        ({"kind": "website", "start_url": site.url("/"), "token": "x"}, "not known here"),
        ({"kind": "google_drive", "key_file": "{}"}, "not a service account"),
        ({"kind": "confluence", "site_url": "https://acme.atlassian.net", "email": "a@b.example",
          "api_token": "t", "spaces": []}, "spaces"),
    ]:  # fmt: skip
        assert says in assert_problem(api.post("workspaces/handbook/sources/", body), 400)["detail"]
    assert (
        "delete_documents"
        in assert_problem(
            api.delete(f"sources/{first.json()['id']}/?delete_documents=perhaps"), 400
        )["detail"]
    )


@pytest.fixture
def drive(settings) -> Iterator[DriveLocal]:
    local = DriveLocal().start()
    settings.GOOGLE_DRIVE_API_URL = local.api_url()
    settings.GOOGLE_DRIVE_TOKEN_URI = local.token_url()
    settings.GOOGLE_ADMIN_API_URL = local.url()
    yield local
    local.stop()


def test_mirroring_is_turned_on_by_a_key_and_off_only_by_an_owner(
    db: None, api_org: ApiOrg, drive: DriveLocal
):
    """PATCH /sources/{id}/: on restricts every document at once (permissions pending until
    the permission sync); off, which lets every reader of the workspace in, is for owners and
    admins signed in as themselves, not API keys (they read no restricted document)."""
    folder = drive.folder("Policies")
    plan = drive.add("plan.txt", b"The plan for next year is to grow.", parents=(folder.id,))
    drive.share(plan.id, "user", "ann@example.com")
    key = api_client(api_org, _sources_key(api_org))
    created = key.post("workspaces/handbook/sources/", {
        "kind": "google_drive", "key_file": json.dumps(drive.service_account()),
        "folder_id": folder.id, "mirror_permissions": False,
    })  # fmt: skip
    source = created.json()
    with tenant_context(api_org.organization):
        connector_sync_run(connector_id=source["id"])
    owner = signed_in(api_org.organization, api_org.owner)
    url = f"/api/v1/sources/{source['id']}/"

    on = key.patch(f"sources/{source['id']}/", {"mirror_permissions": True})
    off_by_key = key.patch(f"sources/{source['id']}/", {"mirror_permissions": False})
    off = owner.patch(url, {"mirror_permissions": False}, content_type="application/json")
    bad = key.patch(f"sources/{source['id']}/", {"mirror_permissions": "perhaps"})
    unknown = key.patch(f"sources/{source['id']}/", {"readers": []})

    assert source["mirror_permissions"] is False and created.status_code == 201
    assert on.status_code == 200, on.content
    assert (on.json()["mirror_permissions"], on.json()["permissions_pending"]) == (True, 1)
    assert on.json()["schedule"] == source["schedule"]  # left out: as it was
    assert "Only owners and admins" in assert_problem(off_by_key, 400)["detail"]
    assert off.status_code == 200, off.content
    assert (off.json()["mirror_permissions"], off.json()["permissions_pending"]) == (False, 0)
    assert "mirror_permissions" in assert_problem(bad, 400)["detail"]
    assert "not known here" in assert_problem(unknown, 400)["detail"]
    with tenant_context(api_org.organization):
        assert not Document.objects.get(title="plan").readers_restricted
        changes = AuditEvent.objects.filter(
            target_id=str(source["id"]), action=AuditAction.SOURCE_CHANGED
        ).order_by("pk")
        assert [event.details["after"]["mirror_permissions"] for event in changes] == [True, False]
