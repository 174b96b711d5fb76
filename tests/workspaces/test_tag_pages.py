"""Tags on the pages and in the command: set on upload, on the document page (HTMX, CSRF)
and in bulk; a bad tag is a 400 with a sentence; the filter bar of the retrieval test page;
the answer cache keyed by the filters; `ingest --tag`."""

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from assistant.answer_cache import answer_cache_key
from assistant.forms import QuestionForm
from assistant.llm import provider_get
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from tests.conftest import signed_in
from tests.files import upload
from workspaces.forms import RetrievalFiltersForm
from workspaces.models import Document, Workspace
from workspaces.search.retrieval import RetrievalFilters
from workspaces.services import document_tags_set, document_upload


def _document(owner: User, workspace: Workspace, name: str) -> Document:
    return document_upload(
        actor=owner, workspace=workspace, upload=upload(name, f"Text of {name}.".encode()),
        queue_ingestion=False,
    )  # fmt: skip


def test_upload_with_tags_stores_them_normalised_and_the_list_shows_chips(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)
    response = client.post(
        f"/w/{workspace.slug}/upload/",
        {"files": [upload("leave.md", b"# Leave\n\nTwenty days.")], "tags": " HR, Policy ,hr"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Document.objects.get(original_name="leave.md").tags == ["hr", "policy"]
    page = client.get(f"/w/{workspace.slug}/").content.decode()
    assert '<span class="tag-chip">hr</span><span class="tag-chip">policy</span>' in page


def test_upload_with_a_bad_tag_is_refused_with_a_sentence_and_stores_nothing(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/upload/",
        {"files": [upload("leave.md", b"# Leave")], "tags": "x" * 41},
        HTTP_HX_REQUEST="true",
    )
    assert "longer than 40 characters" in response.content.decode()
    assert not Document.objects.exists()


def test_document_page_edits_tags_with_htmx_and_bumps_the_index_version(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = _document(owner_a, workspace, "note.txt")
    before = Workspace.objects.get(pk=workspace.pk).index_version
    url = f"/w/{workspace.slug}/documents/{document.pk}/tags/"
    client = signed_in(org_a, owner_a)

    saved = client.post(url, {"tags": "Onboarding, IT"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    body = saved.content.decode()
    assert body.lstrip().startswith('<section id="tags"')
    assert '<span class="tag-chip">onboarding</span><span class="tag-chip">it</span>' in body
    assert Workspace.objects.get(pk=workspace.pk).index_version == before + 1

    refused = client.post(url, {"tags": "ok, <script>"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "may hold only letters, digits" in refused.content.decode()
    assert Document.objects.get(pk=document.pk).tags == ["onboarding", "it"]


def test_tag_editing_without_the_csrf_token_is_refused(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = _document(owner_a, workspace, "note.txt")
    client = Client(HTTP_HOST=f"{org_a.slug}.localhost", enforce_csrf_checks=True)
    client.force_login(owner_a)
    response = client.post(
        f"/w/{workspace.slug}/documents/{document.pk}/tags/", {"tags": "x"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response.status_code == 403
    assert Document.objects.get(pk=document.pk).tags == []


def test_ticked_documents_gain_tags_at_once_only_in_this_workspace(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    from workspaces.services import workspace_create

    first, second, _untouched = (_document(owner_a, workspace, f"{n}.txt") for n in "abc")
    elsewhere = _document(owner_a, workspace_create(actor=owner_a, name="Other"), "d.txt")
    document_tags_set(actor=owner_a, document=first, tags="policy")
    client = signed_in(org_a, owner_a)

    response = client.post(
        f"/w/{workspace.slug}/documents/tag/",
        {"documents": [first.pk, second.pk, elsewhere.pk], "tags": "Policy, 2026"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Tags added to 2 documents." in response.content.decode()
    tags = dict(Document.objects.values_list("original_name", "tags"))
    assert tags == {"a.txt": ["policy", "2026"], "b.txt": ["policy", "2026"], "c.txt": [],
                    "d.txt": []}  # fmt: skip

    nothing_ticked = client.post(
        f"/w/{workspace.slug}/documents/tag/", {"tags": "x"}, HTTP_HX_REQUEST="true"
    )
    assert nothing_ticked.status_code == 400
    assert "Tick the documents to tag first." in nothing_ticked.content.decode()


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"kinds": ["exe"]}, "“exe” is not a document type we keep."),
        ({"updated_after": "2026-13-45"}, "Give the date as YYYY-MM-DD"),
        ({"tags": "a" * 41}, "longer than 40 characters"),
    ],
)
def test_filter_form_refuses_bad_input_with_a_sentence(data: dict[str, Any], sentence: str):
    form = RetrievalFiltersForm(data)
    assert not form.is_valid()
    assert sentence in " ".join(str(e) for errors in form.errors.values() for e in errors)


def test_filter_form_gives_the_filters_and_their_summary():
    form = RetrievalFiltersForm({"tags": "Policy", "kinds": ["pdf"], "updated_after": "2026-01-01"})
    assert form.is_valid()
    filters = form.filters()
    assert filters == RetrievalFilters(("policy",), ("pdf",), date(2026, 1, 1))
    assert filters.summary() == "tag policy, PDF, after 2026-01-01"


def test_retrieval_test_page_narrows_by_the_filters_and_says_so(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {
        "leave.md": b"# Leave\n\nEmployees get 25 vacation days.\n",
        "travel.md": b"# Travel\n\nVacation travel is not reimbursed.\n",
    })  # fmt: skip
    document_tags_set(
        actor=owner_a, document=Document.objects.get(original_name="travel.md"), tags="travel"
    )
    client = signed_in(org_a, owner_a)
    url = f"/w/{workspace.slug}/search/"

    page = client.get(url, {"q": "vacation days", "tags": "Travel"}).content.decode()
    assert "Searched: tag travel" in page
    assert ">Travel</a>" in page and ">Leave</a>" not in page

    refused = client.get(url, {"q": "vacation", "kinds": "exe"})
    assert refused.status_code == 400
    assert "is not a document type we keep" in refused.content.decode()


def test_ask_form_refuses_a_bad_filter_with_a_sentence(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).post(
        "/ask/", {"question": "Vacation?", "updated_after": "soon"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Give the date as YYYY-MM-DD" in response.content.decode()
    assert QuestionForm({"question": "x"}, workspaces=Workspace.objects.all()).is_valid()


def test_answer_cache_key_holds_the_filters_and_moves_on_with_a_tag_change(
    org_a: Organization, owner_a: User, workspace: Workspace, settings: Any
):
    settings.ANSWER_CACHE_SECONDS = 300
    document = _document(owner_a, workspace, "note.txt")
    provider = provider_get("extractive")

    def key(filters: RetrievalFilters | None) -> str | None:
        return answer_cache_key(
            provider=provider, question="Vacation?", workspace_ids=[workspace.pk], filters=filters
        )

    plain, policy = key(None), key(RetrievalFilters(tags=("policy",)))
    assert plain != policy
    assert key(RetrievalFilters(kinds=("pdf", "text"))) == key(
        RetrievalFilters(kinds=("text", "pdf"))
    )
    document_tags_set(actor=owner_a, document=document, tags="policy")
    assert key(RetrievalFilters(tags=("policy",))) != policy


def test_ingest_command_tags_every_file(
    org_a: Organization, owner_a: User, workspace: Workspace, tmp_path: Path
):
    (tmp_path / "a.md").write_text("# A\n\nFirst note.\n")
    (tmp_path / "b.txt").write_text("Second note.\n")
    call_command(
        "ingest", str(tmp_path), "--tenant", org_a.slug, "--workspace", workspace.slug,
        "--tag", "Imported", "--tag", "hr, Policy",
    )  # fmt: skip
    assert sorted(Document.objects.values_list("original_name", "tags")) == [
        ("a.md", ["imported", "hr", "policy"]), ("b.txt", ["imported", "hr", "policy"]),
    ]  # fmt: skip
    with pytest.raises(CommandError, match="longer than 40"):
        call_command(
            "ingest", str(tmp_path), "--tenant", org_a.slug, "--workspace", workspace.slug,
            "--tag", "z" * 41,
        )  # fmt: skip


def test_a_follow_up_starts_with_the_last_questions_filters(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)
    asked = client.post(
        "/ask/",
        {"question": "Vacation?", "tags": "Policy", "kinds": ["pdf"]},
        HTTP_HX_REQUEST="true",
    )
    conversation = asked["HX-Redirect"]

    page = client.get(conversation).content.decode()
    assert "Filters: tag policy, PDF" in page
    assert 'name="tags" value="policy"' in page
    assert re.search(r'<input type="checkbox" name="kinds" value="pdf"[^>]* checked', page)
    assert "Searched: tag policy, PDF" in page
