"""The documents list: natural title order, sortable columns, a row's retry and delete
(CSRF-protected htmx posts answered with the row), and failed documents left out of the
counts that caps and the dashboard show; the retrieval test page's relevance floor."""

import re

from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from billing.selectors import tenant_usage
from tenants.models import Organization
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from tests.files import upload
from workspaces.models import Document, DocumentStatus, Workspace
from workspaces.search.retrieval import RetrievedChunk
from workspaces.selectors import results_split_at_floor, title_natural_key
from workspaces.services import document_upload

TITLE = re.compile(r'<td class="title"><a href="[^"]+">([^<]+)</a>')


def _upload(owner: User, workspace: Workspace, name: str, text: str = "") -> Document:
    return document_upload(
        actor=owner,
        workspace=workspace,
        upload=upload(name, (text or f"Text of {name}.").encode()),
        queue_ingestion=False,
    )


def _titles(client: Client, url: str) -> list[str]:
    return TITLE.findall(client.get(url).content.decode())


def test_numbers_in_titles_sort_as_numbers():
    titles = ["Note 26", "note 7", "Note 6", "Note 27", "Annex", "Note 10b", "Note 10a"]

    ordered = sorted(titles, key=title_natural_key)

    assert ordered == ["Annex", "Note 6", "note 7", "Note 10a", "Note 10b", "Note 26", "Note 27"]


def test_documents_list_sorts_titles_naturally_and_by_each_column(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    # Uploaded in the order a file browser lists them: 1, 10, 11, 12, 2, 3, ...
    for name in sorted(f"note-{n}.txt" for n in range(1, 13)):
        _upload(owner_a, workspace, name)
    failed = _upload(owner_a, workspace, "broken.txt")
    Document.objects.filter(pk=failed.pk).update(status=DocumentStatus.FAILED, error="Broken")
    client, url = signed_in(org_a, owner_a), f"/w/{workspace.slug}/"
    notes = [f"Note {n}" for n in range(1, 13)]

    assert _titles(client, url) == ["Broken", *notes]
    assert _titles(client, url + "?sort=-title") == [*reversed(notes), "Broken"]
    # Lifecycle order: queued ... ready, failed; ties by title.
    assert _titles(client, url + "?sort=status") == [*notes, "Broken"]
    assert _titles(client, url + "?sort=-status") == ["Broken", *notes]
    assert _titles(client, url + "?sort=-updated")[0] == "Broken"
    assert _titles(client, url + "?sort=nonsense") == ["Broken", *notes]
    page = client.get(url + "?sort=-title&q=note").content.decode()
    assert 'aria-sort="descending" class="title"' in page
    assert "?sort=title&amp;q=note" in page


def test_row_retry_answers_with_the_row_queued_again(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = _upload(owner_a, workspace, "broken.txt")
    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FAILED, error="Broken")
    row = f"document-{document.pk}"

    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/documents/{document.pk}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=row,
    )

    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="{row}"')
    assert "Queued" in body and 'hx-trigger="every 1s"' in body
    document.refresh_from_db()
    assert document.status == DocumentStatus.QUEUED


def test_row_delete_answers_with_a_row_saying_so(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = _upload(owner_a, workspace, "old-note.txt")
    row = f"document-{document.pk}"

    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/documents/{document.pk}/delete/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=row,
    )

    assert response.content.decode() == (
        f'<tr id="{row}" class="deleted"><td colspan="6" role="status">'
        "“Old note” was deleted.</td></tr>"
    )
    assert not Document.objects.filter(pk=document.pk).exists()


def test_ticked_documents_are_deleted_at_once_and_only_from_this_workspace(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    from workspaces.services import workspace_create

    first, second, kept = (_upload(owner_a, workspace, f"{n}.txt") for n in ("a", "b", "c"))
    elsewhere = _upload(owner_a, workspace_create(actor=owner_a, name="Other"), "d.txt")

    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/documents/delete/?sort=-title",
        {"documents": [first.pk, second.pk, elsewhere.pk]},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert "Deleted 2 documents: A, B." in body
    assert TITLE.findall(body) == ["C"]
    remaining = Document.objects.values_list("pk", flat=True)
    assert set(remaining) == {kept.pk, elsewhere.pk}


def test_row_delete_without_the_csrf_token_is_refused(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = _upload(owner_a, workspace, "keep.txt")
    client = Client(HTTP_HOST=f"{org_a.slug}.localhost", enforce_csrf_checks=True)
    client.force_login(owner_a)

    response = client.post(
        f"/w/{workspace.slug}/documents/{document.pk}/delete/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"document-{document.pk}",
    )

    assert response.status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()


def test_failed_documents_do_not_count_against_the_cap_or_on_the_dashboard(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    _upload(owner_a, workspace, "good.txt")
    failed = _upload(owner_a, workspace, "broken.txt")
    Document.objects.filter(pk=failed.pk).update(status=DocumentStatus.FAILED, error="Broken")
    plan_caps("free", max_documents=2)

    assert tenant_usage(organization=org_a, meter="documents") == 1
    dashboard = signed_in(org_a, owner_a).get("/").content.decode()
    assert "1 document · " in dashboard and "1 failed" in dashboard
    # A failed document's place under the cap is free for a new one...
    _upload(owner_a, workspace, "second.txt")
    # ...so retrying the failed one would take the organization past it.
    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/documents/{failed.pk}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"document-{failed.pk}",
    )
    assert "limit of 2 documents" in response.content.decode()
    with tenant_context(org_a):
        assert Document.objects.get(pk=failed.pk).status == DocumentStatus.FAILED


def _result(number: int, vector: float | None, lexical_rank: int | None) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=number, document_id=1, document_title="Doc", workspace_id=1, ordinal=number,
        text=f"passage {number}", page=None, heading_path="", score=1 / number,
        vector_rank=number if vector is not None else None, vector_score=vector,
        lexical_rank=lexical_rank, lexical_score=2.0 if lexical_rank else None,
    )  # fmt: skip


def test_results_without_a_lexical_match_and_a_low_vector_score_fall_below_the_floor():
    results = [
        _result(1, 0.62, 1),
        _result(2, 0.10, 2),  # a word of the query: kept above
        _result(3, 0.31, None),
        _result(4, 0.25, None),  # at the floor: below
        _result(5, None, None),
        _result(6, -0.02, None),
    ]

    above, below = results_split_at_floor(results=results, floor=0.25)

    assert [r.chunk_id for r in above] == [1, 2, 3]
    assert [r.chunk_id for r in below] == [4, 5, 6]
