"""BM25 statistics are kept per workspace and combined at query time over the workspaces
searched, so nothing in a workspace one may not read moves a score one sees."""

import re
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import User
from api.services import api_key_create
from localdev.vertex_server import VertexLocalServer
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.embedding.change import reembedding_run, reembedding_start
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import CorpusStat, Document, EmbeddingIndex, TermStat, WorkspaceRole
from workspaces.readers import DocumentReaders, document_readers_set
from workspaces.search.retrieval import chunks_retrieve
from workspaces.search.term_stats import term_chunk_counts, term_variants
from workspaces.services import (
    document_delete,
    document_replace,
    documents_delete,
    grant_set,
    workspace_create,
)

SHARED = {
    "leave.md": b"# Leave\n\nEmployees get 25 vacation days a year. Unused vacation days carry"
    b" over until March.\n\n## Sick leave\n\nTell your manager before 10am.\n",
    "laptops.md": b"# Laptops\n\nEvery employee gets a laptop. A broken laptop is replaced"
    b" within two days by the service desk.\n",
}
# Words of the shared workspace's query, many times over, and a word of its own.
SECRET = {
    f"merger-{n}.md": (
        f"# Project Heron {n}\n\nThe merger closes in March; vacation is frozen and every"
        f" laptop is audited. Vacation days, laptop, vacation, classification {n}.\n"
    ).encode()
    for n in range(6)
}
QUERY = "vacation days laptop"
LEGS = re.compile(r'<span class="legs">(.*?)</span>', re.S)


def test_a_document_in_a_restricted_workspace_changes_no_score_an_outsider_sees(
    org_a: Organization, owner_a: User
):
    shared = workspace_create(actor=owner_a, name="Shared")
    secret = workspace_create(actor=owner_a, name="Secret")
    editor = make_member()
    grant_set(actor=owner_a, workspace=shared, role=WorkspaceRole.EDITOR, grantee=editor)
    documents_ingested(owner_a, shared, SHARED)
    key = api_key_create(
        actor=owner_a, name="Search", scopes=["read"], workspace_ids=[shared.pk]
    ).secret
    api = Client(
        HTTP_HOST=f"{org_a.slug}.{settings.BASE_DOMAIN}", headers={"Authorization": f"Bearer {key}"}
    )
    page = signed_in(org_a, editor)

    def observed() -> tuple[dict[str, Any], list[str]]:
        results = {
            mode: api.get("/api/v1/search/", {"q": QUERY, "mode": mode}).json()
            for mode in ("hybrid", "lexical")
        }
        legs = LEGS.findall(page.get(f"/w/{shared.slug}/search/", {"q": QUERY}).content.decode())
        return results, legs

    before = observed()
    documents_ingested(owner_a, secret, SECRET)
    after = observed()

    assert before[0]["lexical"] and all(r["lexical_score"] for r in before[0]["lexical"])
    assert len(before[1]) == 3
    assert after == before


def test_a_document_its_source_withholds_changes_no_score_a_reader_of_the_workspace_sees(
    org_a: Organization, owner_a: User
):
    """The documents' source readers (workspaces.readers) keep them from the editor: their
    passages are in the same workspace's statistics and are counted out at query time."""
    shared = workspace_create(actor=owner_a, name="Shared")
    editor = make_member()
    grant_set(actor=owner_a, workspace=shared, role=WorkspaceRole.EDITOR, grantee=editor)
    documents_ingested(owner_a, shared, SHARED)

    def observed() -> list[list[tuple[int, float, int | None, float | None]]]:
        return [
            [
                (r.chunk_id, r.score, r.lexical_rank, r.lexical_score)
                for r in chunks_retrieve(user=editor, query=QUERY, k=20, mode=mode)
            ]
            for mode in ("hybrid", "lexical")
        ]

    before = observed()
    documents_ingested(owner_a, shared, SECRET)
    secret = list(Document.objects.filter(original_name__startswith="merger-"))
    for document in secret:
        document_readers_set(
            document=document,
            readers=DocumentReaders(restricted=True, emails=frozenset({"cfo@example.com"})),
        )
    after = observed()

    assert before[1] and all(lexical_score for _, _, _, lexical_score in before[1])
    assert after == before
    # The owner is no reader either; a reader of the documents finds them.
    cfo = make_member(email="cfo@example.com")
    grant_set(actor=owner_a, workspace=shared, role=WorkspaceRole.VIEWER, grantee=cfo)
    found = {r.document_id for r in chunks_retrieve(user=cfo, query=QUERY, k=20, mode="lexical")}
    assert {document.pk for document in secret} <= found


def _recounted() -> tuple[dict[tuple[int, str], int], dict[int, tuple[int, int]]]:
    """The statistics as the chunks give them now, per workspace."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.workspace_id, u.lexeme, count(*) FROM assistant_chunk c,"
            " unnest(tsvector_to_array(c.search)) u(lexeme) GROUP BY 1, 2"
        )
        terms = {(w, lexeme): n for w, lexeme, n in cursor.fetchall()}
        cursor.execute(
            "SELECT workspace_id, count(*), sum(lexeme_count) FROM assistant_chunk GROUP BY 1"
        )
        corpus = {w: (n, int(total)) for w, n, total in cursor.fetchall()}
    return terms, corpus


def _kept() -> tuple[dict[tuple[int, str], int], dict[int, tuple[int, int]]]:
    """The statistics as ingestion and deletion kept them (rows counted down to zero are
    as good as none)."""
    terms = {
        (t.workspace_id, t.lexeme): t.chunk_count
        for t in TermStat.objects.filter(chunk_count__gt=0)
    }
    corpus = {
        s.workspace_id: (s.chunk_count, s.lexeme_total)
        for s in CorpusStat.objects.filter(chunk_count__gt=0)
    }
    return terms, corpus


def test_statistics_per_workspace_follow_ingestion_replacement_and_deletion(
    org_a: Organization, owner_a: User
):
    first = workspace_create(actor=owner_a, name="First")
    second = workspace_create(actor=owner_a, name="Second")
    documents_ingested(owner_a, first, SHARED)
    documents_ingested(owner_a, second, dict(list(SECRET.items())[:3]))
    assert _kept() == _recounted()
    assert _kept()[0][(first.pk, "vacat")] == 1
    assert _kept()[0][(second.pk, "vacat")] == 3

    leave = Document.objects.get(workspace=first, original_name="leave.md")
    replacement = upload("leave.md", b"# Leave\n\nAsk HR about parental leave.\n")
    documents_ingest(
        document_ids=[document_replace(actor=owner_a, document=leave, upload=replacement).pk]
    )
    assert _kept() == _recounted()
    assert (first.pk, "vacat") not in _kept()[0]

    document_delete(actor=owner_a, document=Document.objects.get(original_name="merger-0.md"))
    assert _kept() == _recounted()
    documents_delete(
        actor=owner_a,
        workspace=second,
        document_ids=list(second.documents.values_list("pk", flat=True)),
    )
    assert _kept() == _recounted()
    assert second.pk not in _kept()[1]

    first.delete()
    assert _kept() == _recounted() == ({}, {})


def test_counts_and_variants_read_only_the_workspaces_asked_for(org_a: Organization, owner_a: User):
    shared = workspace_create(actor=owner_a, name="Shared")
    secret = workspace_create(actor=owner_a, name="Secret")
    documents_ingested(owner_a, shared, SHARED)
    documents_ingested(owner_a, secret, SECRET)

    chunks, counts = term_chunk_counts(lexemes=["vacat", "classif"], workspace_ids=[shared.pk])
    both, counts_of_both = term_chunk_counts(
        lexemes=["vacat", "classif"], workspace_ids=[shared.pk, secret.pk]
    )

    assert (chunks, counts) == (3, {"vacat": 1})
    assert (both, counts_of_both) == (9, {"vacat": 7, "classif": 6})
    assert term_variants(lexemes=["classifi"], workspace_ids=[shared.pk]) == {}
    assert term_variants(lexemes=["classifi"], workspace_ids=[secret.pk]) == {
        "classifi": ["classif"]
    }


def test_statistics_stay_right_through_a_change_of_embedding_model(
    vertex: VertexLocalServer, org_a: Organization, owner_a: User
):
    first = workspace_create(actor=owner_a, name="First")
    second = workspace_create(actor=owner_a, name="Second")
    documents_ingested(owner_a, first, SHARED)
    before = _kept()
    reembedding_start(actor=owner_a, model="vertex")
    assert reembedding_run(seconds=0) is True  # one batch, then the run's time is up

    # A document ingested meanwhile is counted once, in its own workspace.
    documents_ingested(owner_a, second, dict(list(SECRET.items())[:1]))
    assert reembedding_run(seconds=60) is False

    assert EmbeddingIndex.objects.get().model == "vertex"
    assert _kept() == _recounted()
    assert {k: v for k, v in _kept()[0].items() if k[0] == first.pk} == before[0]
    assert _kept()[1][first.pk] == before[1][first.pk]
