"""A key is a service account: the access policy decides what it reads, exactly as for
people (not readable: 404), its scopes decide what it may do at all (403), and a wrong,
revoked or expired key is refused (401)."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from api.services import api_key_revoke
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.models import Document


def _document_id(org: ApiOrg, workspace) -> int:
    with tenant_context(org.organization):
        return Document.objects.filter(workspace=workspace).values_list("pk", flat=True)[0]


def test_key_without_a_grant_gets_404s_as_a_person_without_one_does(db: None, api_org: ApiOrg):
    issued = key_issue(api_org, workspaces=[api_org.handbook])
    api = api_client(api_org, issued)
    finance_document = _document_id(api_org, api_org.finance)

    assert [w["slug"] for w in api.get("workspaces/").json()] == ["handbook"]
    assert_problem(api.get("workspaces/finance/documents/"), 404)
    assert_problem(api.get(f"documents/{finance_document}/"), 404)
    assert_problem(api.delete(f"documents/{finance_document}/"), 404)
    assert_problem(api.get("search/", {"q": "hotel", "workspace": "finance"}), 404)
    assert_problem(api.post("ask/", {"question": "Hotel limit?", "workspaces": ["finance"]}), 404)
    unscoped = api.get("search/", {"q": "hotel nightly limit in London"}).json()
    assert all("travel" not in r["document_title"].lower() for r in unscoped)

    # A member without a grant meets the same 404s on the pages.
    with tenant_context(api_org.organization):
        person = make_member()
    browser = signed_in(api_org.organization, person)
    assert browser.get("/w/finance/").status_code == 404
    assert browser.get(f"/w/finance/documents/{finance_document}/").status_code == 404


def test_open_workspaces_are_not_readable_by_a_key_unless_granted(db: None, api_org: ApiOrg):
    ungranted = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook]))
    assert [w["slug"] for w in ungranted.get("workspaces/").json()] == ["handbook"]
    assert_problem(ungranted.get("workspaces/everyone/documents/"), 404)

    granted = api_client(api_org, key_issue(api_org, workspaces=[api_org.open]))
    assert [w["slug"] for w in granted.get("workspaces/").json()] == ["everyone"]


def test_viewer_key_may_read_a_workspace_but_not_change_its_documents(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook], level="viewer"))
    problem = assert_problem(
        api.upload("workspaces/handbook/documents/", {"file": upload("a.md", b"# A\n\nText.")}), 403
    )
    assert "editor role" in problem["detail"]
    assert_problem(api.delete(f"documents/{_document_id(api_org, api_org.handbook)}/"), 403)


def test_each_scope_is_needed_for_its_endpoints(db: None, api_org: ApiOrg):
    read_only = api_client(api_org, key_issue(api_org, scopes=["read"], workspaces=[api_org.handbook],
                                              level="editor"))  # fmt: skip
    assert read_only.get("workspaces/").status_code == 200
    problem = assert_problem(read_only.post("ask/", {"question": "Vacation days?"}), 403)
    assert "“ask” scope" in problem["detail"]
    assert_problem(read_only.get("conversations/"), 403)
    assert_problem(
        read_only.upload("workspaces/handbook/documents/", {"file": upload("b.md", b"# B\n\nx")}),
        403,
    )

    ask_only = api_client(
        api_org, key_issue(api_org, scopes=["ask"], workspaces=[api_org.handbook])
    )
    assert ask_only.get("conversations/").status_code == 200
    assert_problem(ask_only.get("workspaces/"), 403)
    assert_problem(ask_only.get("search/", {"q": "vacation"}), 403)


def test_missing_wrong_revoked_and_expired_keys_are_401_with_a_bearer_challenge(
    db: None, api_org: ApiOrg
):
    issued = key_issue(api_org, workspaces=[api_org.handbook])
    anonymous = assert_problem(api_client(api_org, None).get("workspaces/"), 401)
    assert "credentials" in anonymous["detail"].lower()
    forged = issued.secret[:-4] + "AAAA"
    for secret, says in [
        (forged, "not an API key"),
        ("ka_nothing", "not an API key"),
        ("not-even-close", "not an API key"),
    ]:
        response = api_client(api_org, None).get("workspaces/", Authorization=f"Bearer {secret}")
        assert says in assert_problem(response, 401)["detail"]
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    expired = key_issue(api_org, workspaces=[api_org.handbook])
    with tenant_context(api_org.organization):
        expired.key.expires_at = timezone.now() - timedelta(minutes=1)
        expired.key.save()
        api_key_revoke(actor=api_org.owner, key=issued.key)
    assert (
        "revoked" in assert_problem(api_client(api_org, issued).get("workspaces/"), 401)["detail"]
    )
    assert (
        "expired" in assert_problem(api_client(api_org, expired).get("workspaces/"), 401)["detail"]
    )


def test_a_key_from_another_organization_is_not_accepted(db: None, api_org: ApiOrg, org_b):
    issued = key_issue(api_org, workspaces=[api_org.handbook])
    from tests.api.conftest import ApiClient

    elsewhere = ApiClient(org_b, issued.secret)
    assert_problem(elsewhere.get("workspaces/"), 401)


def test_a_signed_in_person_uses_the_api_with_their_own_access_and_csrf_stays_on(
    db: None, api_org: ApiOrg
):
    browser = Client(enforce_csrf_checks=True, HTTP_HOST=f"{api_org.organization.slug}.localhost")
    with tenant_context(api_org.organization):
        browser.force_login(make_member())
    assert [w["slug"] for w in browser.get("/api/v1/workspaces/").json()] == ["everyone"]
    forged = browser.post(
        "/api/v1/ask/", {"question": "Code of conduct?"}, content_type="application/json"
    )
    assert "CSRF" in assert_problem(forged, 403)["detail"]
