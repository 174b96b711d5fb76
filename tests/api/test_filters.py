"""The API's search and ask narrow by tag, type and "updated after" like the Ask page; a bad
filter is a 400 with a sentence."""

import pytest
import yaml
from django_tenants.utils import tenant_context

from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.conftest import client_for
from tests.files import upload
from workspaces.models import Document, Workspace


def readable_all(org: ApiOrg) -> list[Workspace]:
    return [org.handbook, org.finance, org.open]


def test_search_keeps_to_the_chosen_document_type(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, scopes=["read"], workspaces=readable_all(api_org)))
    query = "vacation days hotel nightly limit"

    unfiltered = api.get("search/", {"q": query, "k": 10}).json()
    assert len({r["document_title"] for r in unfiltered}) > 1

    html_only = api.get("search/", {"q": query, "k": 10, "kind": "html"})
    assert html_only.status_code == 200, html_only.content
    with tenant_context(api_org.organization):
        html_titles = set(Document.objects.filter(kind="html").values_list("title", flat=True))
    assert html_only.json() and {r["document_title"] for r in html_only.json()} <= html_titles

    assert api.get("search/", {"q": query, "tag": "No Such Tag"}).json() == []
    assert api.get("search/", {"q": query, "updated_after": "2999-01-01"}).json() == []


def test_search_names_its_filters_as_ask_does_and_still_takes_the_old_names(
    db: None, api_org: ApiOrg
):
    api = api_client(api_org, key_issue(api_org, scopes=["read"], workspaces=readable_all(api_org)))
    query = "vacation days hotel nightly limit"
    with tenant_context(api_org.organization):
        html_titles = set(Document.objects.filter(kind="html").values_list("title", flat=True))

    new = api.get("search/", {"q": query, "k": 10, "kinds": "html"}).json()
    old = api.get("search/", {"q": query, "k": 10, "kind": "html"}).json()
    one_workspace = api.get(
        "search/", {"q": query, "k": 10, "workspaces": api_org.finance.slug}
    ).json()
    schema = yaml.safe_load(client_for(api_org.organization).get("/api/v1/schema/").content)

    assert new and {r["document_title"] for r in new} <= html_titles
    assert [r["chunk_id"] for r in old] == [r["chunk_id"] for r in new]
    assert {r["workspace_id"] for r in one_workspace} == {api_org.finance.pk}
    assert api.get("search/", {"q": query, "tags": "No Such Tag"}).json() == []
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/search/"]["get"]["parameters"]}
    assert {"workspaces", "tags", "kinds"} <= set(parameters)
    assert all(
        parameters[name]["schema"].get("deprecated") for name in ("workspace", "tag", "kind")
    )


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"kind": "exe"}, "not a valid choice"),
        ({"tag": "x" * 41}, "longer than 40 characters"),
        ({"tag": "<b>"}, "only letters, digits"),
        ({"updated_after": "yesterday"}, "Date has wrong format"),
    ],
)
def test_a_bad_search_filter_is_a_400_with_a_sentence(
    db: None, api_org: ApiOrg, params: dict[str, str], sentence: str
):
    api = api_client(api_org, key_issue(api_org, scopes=["read"], workspaces=readable_all(api_org)))
    problem = assert_problem(api.get("search/", {"q": "vacation", **params}), 400)
    assert sentence in str(problem)


def test_ask_answers_only_from_the_chosen_type_and_says_so(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, scopes=["ask"], workspaces=readable_all(api_org)))
    answered = api.post(
        "ask/", {"question": "What is the hotel nightly limit in London?", "kinds": ["markdown"]}
    )
    assert answered.status_code == 200, answered.content
    message = answered.json()["message"]
    assert message["search_filters"]["kinds"] == ["markdown"]
    with tenant_context(api_org.organization):
        markdown = set(Document.objects.filter(kind="markdown").values_list("title", flat=True))
    assert {c["document_title"] for c in message["citations"]} <= markdown

    refused = api.post("ask/", {"question": "Hotel limit?", "tags": ["a" * 60]})
    assert "longer than 40 characters" in str(assert_problem(refused, 400))


def test_upload_through_the_api_sets_tags(db: None, api_org: ApiOrg):
    api = api_client(
        api_org,
        key_issue(api_org, scopes=["ingest"], level="editor", workspaces=[api_org.handbook]),
    )
    created = api.upload(
        "workspaces/handbook/documents/",
        {"file": upload("tagged-note.md", b"# Tagged\n\nA note about parking.\n"),
         "tags": ["Parking", " FACILITIES "]},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["tags"] == ["parking", "facilities"]
