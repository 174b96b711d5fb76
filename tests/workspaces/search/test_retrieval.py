import re
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from workspaces.models import Chunk, CorpusStat, TermStat, Workspace
from workspaces.search.retrieval import chunks_retrieve, query_parse
from workspaces.services import document_delete

DOCUMENTS = {
    "leave.md": b"# Leave\n\n## Vacation\n\nFull-time employees get 25 vacation days a year.\n\n"
    b"## Sick leave\n\nTell your manager before 10:00 on the first day of sickness.\n",
    "security.md": b"# Security\n\n## Passwords\n\n"
    b"Passwords need 14 characters and a password manager.\n\n"
    b"## Incidents\n\nReport a security incident within 30 minutes on the hotline.\n",
    "robots.md": b"# Robots\n\n## Warranty\n\n"
    b"The NR-200 robot has a 24-month warranty; the NR-350 has 36 months.\n",
}


@pytest.fixture
def corpus(org_a: Organization, owner_a: User, workspace: Workspace) -> Workspace:
    documents_ingested(owner_a, workspace, DOCUMENTS)
    return workspace


def owner_of(workspace: Workspace) -> User:
    assert workspace.created_by is not None
    return workspace.created_by


def top(query: str, workspace: Workspace, mode: str = "hybrid", k: int = 3) -> list[str]:
    return [
        c.text
        for c in chunks_retrieve(
            user=owner_of(workspace), query=query, within=[workspace.pk], k=k, mode=mode
        )
    ]


@pytest.mark.parametrize("mode", ["hybrid", "vector", "lexical"])
def test_each_mode_finds_the_passage_that_answers(corpus: Workspace, mode: str):
    assert "25 vacation days" in top("How many vacation days do I get?", corpus, mode)[0]
    assert "24-month warranty" in top("warranty of the NR-200 robot", corpus, mode)[0]


def test_hybrid_reports_both_legs_ranks_and_scores(corpus: Workspace):
    best = chunks_retrieve(
        user=owner_of(corpus), query="report a security incident", within=[corpus.pk], k=1
    )[0]

    assert "security incident" in best.text
    assert best.vector_rank == 1 and best.lexical_rank == 1
    assert best.vector_score is not None and best.lexical_score is not None
    assert best.score == pytest.approx(2 / 61)
    assert best.heading_path == "Security › Incidents"


@pytest.mark.parametrize(
    "query",
    [
        "vacation!!! days???",
        '"vacation days" OR warranty',
        "it's (vacation) & days | ! <-> :*",
        "days -vacation",
        "   ",
        "",
        "vacation " * 2000,
        "-",
        '"',
        "OR OR OR",
    ],
)
def test_lexical_leg_reads_any_query_as_plain_words(corpus: Workspace, query: str):
    """Operators and punctuation of tsquery syntax are words or nothing, never an error; a
    query with a word of the corpus finds it, one without finds nothing."""
    words = re.findall(r"[a-z]+", query.lower())
    results = chunks_retrieve(
        user=owner_of(corpus), query=query, within=[corpus.pk], mode="lexical"
    )

    if {"vacation", "days", "warranty"} & set(words):
        assert results and all(
            any(
                stem in f"{chunk.heading_path} {chunk.text}".lower()
                for stem in ("vacation", "day", "warrant")
            )
            for chunk in results
        )
    else:
        assert results == []


def test_lexical_leg_ors_the_words_of_a_long_question(corpus: Workspace):
    results = top(
        "what is the warranty period for robots in months please tell me", corpus, "lexical"
    )

    assert "24-month warranty" in results[0]


def test_minus_excludes_and_quotes_require_the_phrase(corpus: Workspace):
    without = top("days -vacation", corpus, "lexical", k=10)
    phrase = top('"password manager"', corpus, "lexical", k=10)

    assert without and not any("vacation" in text for text in without)
    assert len(phrase) == 1 and "password manager" in phrase[0]


def test_only_selective_words_find_lexical_candidates_yet_every_word_is_scored(
    corpus: Workspace, settings: Any
):
    def lexical(query: str) -> list[tuple[str, float | None]]:
        chunks = chunks_retrieve(
            user=owner_of(corpus), query=query, within=[corpus.pk], k=10, mode="lexical"
        )
        return [(c.heading_path, c.lexical_score) for c in chunks]

    settings.RETRIEVAL_LEXICAL_MATCH_SHARE = 1.0
    settings.RETRIEVAL_LEXICAL_MATCH_BUDGET = 10**9
    everything = lexical("manager sickness")
    settings.RETRIEVAL_LEXICAL_MATCH_SHARE = 0.0
    settings.RETRIEVAL_LEXICAL_MATCH_MIN_TERMS = 1
    # A word in at most the floor's number of chunks is never pruned: a small knowledge base
    # has no common words.
    settings.RETRIEVAL_LEXICAL_MATCH_FLOOR = 50
    small = lexical("manager sickness")
    settings.RETRIEVAL_LEXICAL_MATCH_FLOOR = 0
    pruned = lexical("manager sickness")
    common_only = lexical("manager")

    assert [heading for heading, _ in everything] == ["Leave › Sick leave", "Security › Passwords"]
    assert small == everything
    assert pruned == everything[:1]
    assert len(common_only) == 2


def test_a_query_of_only_stop_words_returns_vector_results(corpus: Workspace):
    results = chunks_retrieve(
        user=owner_of(corpus), query="the and of to a", within=[corpus.pk], k=3
    )

    assert results
    assert all(chunk.lexical_rank is None and chunk.vector_rank is not None for chunk in results)


def test_term_statistics_follow_ingestion_and_deletion(corpus: Workspace, owner_a: User):
    def chunks_with(lexeme: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM assistant_chunk WHERE search @@ %s::tsquery", [lexeme]
            )
            return int(cursor.fetchone()[0])

    assert TermStat.objects.get(lexeme="vacat").chunk_count == chunks_with("vacat")
    assert CorpusStat.objects.get().chunk_count == Chunk.objects.count()

    document_delete(actor=owner_a, document=corpus.documents.get(original_name="leave.md"))

    assert TermStat.objects.get(lexeme="vacat").chunk_count == 0
    assert CorpusStat.objects.get().chunk_count == Chunk.objects.count()
    lexemes = sum(Chunk.objects.values_list("lexeme_count", flat=True))
    assert CorpusStat.objects.get().lexeme_total == lexemes


def test_query_parse_keeps_phrases_and_minus_terms():
    parsed = query_parse('vacation OR "sick leave" -contractors -"part time" days')

    assert parsed.words == "vacation days"
    assert parsed.phrases == ("sick leave",)
    assert parsed.excluded == ("contractors", "part time")


def test_editors_test_retrieval_page_ranks_and_highlights(
    corpus: Workspace, org_a: Organization, owner_a: User
):
    from tests.conftest import signed_in

    response = signed_in(org_a, owner_a).get(
        f"/w/{corpus.slug}/search/", {"q": "<b>vacation</b> days"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<mark>vacation</mark>" in body
    assert "&lt;b&gt;" in body and "<b>vacation</b>" not in body
    assert "vector #1" in body


def test_viewers_do_not_get_the_test_retrieval_page(
    corpus: Workspace, org_a: Organization, owner_a: User
):
    from tests.conftest import signed_in
    from tests.factories import make_member
    from workspaces.services import grant_set

    viewer = make_member()
    grant_set(actor=owner_a, workspace=corpus, role="viewer", grantee=viewer)

    assert signed_in(org_a, viewer).get(f"/w/{corpus.slug}/search/", {"q": "x"}).status_code == 404


@pytest.mark.parametrize("exact_max_chunks", [0, 1_000_000])
def test_graph_and_exact_search_rank_readable_chunks_by_cosine_distance(
    corpus: Workspace, settings: Any, exact_max_chunks: int
):
    """Both ways of the vector leg (the HNSW graph above RETRIEVAL_EXACT_MAX_CHUNKS readable
    chunks, exact search under it) give the chunks nearest the query, nearest first."""
    import numpy as np

    from workspaces.embedding.model import embeddings_default

    settings.RETRIEVAL_EXACT_MAX_CHUNKS = exact_max_chunks
    query = "How do I report a security incident?"
    vector = np.asarray(embeddings_default().embed_query(query))
    chunks = list(Chunk.objects.filter(workspace=corpus))
    by_distance = sorted(
        chunks,
        key=lambda c: 1 - float(np.dot(vector, c.embedding) / np.linalg.norm(c.embedding)),
    )

    found = chunks_retrieve(
        user=owner_of(corpus), query=query, within=[corpus.pk], k=len(chunks), mode="vector"
    )

    assert [c.chunk_id for c in found] == [c.pk for c in by_distance]
    assert found[0].vector_score == pytest.approx(
        float(np.dot(vector, by_distance[0].embedding) / np.linalg.norm(by_distance[0].embedding)),
        abs=1e-4,
    )
