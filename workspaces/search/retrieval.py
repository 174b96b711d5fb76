"""Hybrid, permission-filtered retrieval.

Vector leg: nearest chunks by cosine distance through the HNSW index, restricted to the
readable workspaces, with pgvector's iterative index scan so a selective filter still
yields enough rows. Lexical leg: candidates matched through the GIN index with OR
semantics over the query's lexemes (quoted phrases and minus terms kept), scored by BM25
from the term statistics of the workspaces searched (workspaces.search.term_stats), never those of
a workspace the reader may not read, less the passages of documents withheld from the
reader by their source's readers (workspaces.access), which neither leg returns. The two
ranked lists are
fused with Reciprocal Rank Fusion. With both legs, outside a transaction, the vector leg
runs on a connection of its own in a thread while the caller's connection runs the lexical
leg, and a third statement fuses the two lists (RETRIEVAL_CONCURRENT_LEGS); otherwise one
statement does all of it.

Filters (tags, document types, updated after a day) narrow both legs inside the same SQL,
beside the workspace filter: the ids of the matching documents are worked out once (an
InitPlan over the document table, its tags through their GIN index) and each leg keeps only
chunks of those documents, so the top k are k chunks in scope whenever there are k, never
what is left of a list cut afterwards. The vector leg's iterative HNSW scan walks on until
enough chunks pass both conditions.
"""

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pgvector import Vector

from accounts.models import User
from tenants.schemas import on_pool_thread, tenant_current
from workspaces.access import document_ids_withheld, workspace_ids_readable
from workspaces.embedding.model import embeddings_in_force
from workspaces.models import DocumentKind, Workspace
from workspaces.search.term_stats import text_term_variants

MODES = ("hybrid", "vector", "lexical")
# A phrase in quotes, a minus term or phrase, or a word; OR between words is implied.
QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    document_id: int
    document_title: str
    workspace_id: int
    ordinal: int
    text: str
    page: int | None
    heading_path: str
    score: float
    vector_rank: int | None
    vector_score: float | None
    lexical_rank: int | None
    lexical_score: float | None


# The filter matches documents updated from the next day on, so the calendar's last day
# (where adding one overflows) cannot be one; before 1900 is a typo, not a filter.
UPDATED_AFTER_EARLIEST = date(1900, 1, 1)
UPDATED_AFTER_LATEST = date.max - timedelta(days=1)


def updated_after_refusal(day: date) -> str:
    """Why `day` cannot be an updated-after filter, as a sentence; "" when it can."""
    if day < UPDATED_AFTER_EARLIEST:
        return "Give a date after 1900."
    if day > UPDATED_AFTER_LATEST:
        return f"Give a date before {date.max.isoformat()}."
    return ""


@dataclass(frozen=True)
class RetrievalFilters:
    """What a search is narrowed to, beyond the readable workspaces: documents carrying any
    of `tags` (normalised, workspaces.tags), of one of `kinds`, updated after the day
    `updated_after` (in the site's time zone). Empty: no narrowing."""

    tags: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    updated_after: date | None = None

    def __bool__(self) -> bool:
        return bool(self.tags or self.kinds or self.updated_after)

    def summary(self) -> str:
        """As shown beside an answer: "tag policy, PDF, after 2026-01-01"."""
        labels = dict(DocumentKind.choices)
        parts = [f"tag {tag}" for tag in self.tags]
        parts += [str(labels.get(kind, kind)) for kind in self.kinds]
        if self.updated_after:
            parts.append(f"after {self.updated_after.isoformat()}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, sorted: the same filters chosen in another order are the same."""
        return {
            "tags": sorted(self.tags),
            "kinds": sorted(self.kinds),
            "updated_after": self.updated_after.isoformat() if self.updated_after else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "RetrievalFilters":
        data = data or {}
        after = data.get("updated_after")
        return cls(
            tags=tuple(data.get("tags") or ()),
            kinds=tuple(data.get("kinds") or ()),
            updated_after=date.fromisoformat(after) if after else None,
        )


def _document_conditions(filters: RetrievalFilters, params: dict[str, Any]) -> str:
    """SQL conditions on a document `d` for the filters, parameters bound; "" for none."""
    conditions = []
    if filters.tags:
        params["filter_tags"] = list(filters.tags)
        conditions.append("d.tags && %(filter_tags)s::varchar[]")
    if filters.kinds:
        params["filter_kinds"] = list(filters.kinds)
        conditions.append("d.kind = ANY(%(filter_kinds)s::varchar[])")
    if filters.updated_after:
        day_after = filters.updated_after + timedelta(days=1)
        params["filter_updated_from"] = timezone.make_aware(datetime.combine(day_after, time.min))
        conditions.append("d.updated_at >= %(filter_updated_from)s")
    return "".join(f" AND {condition}" for condition in conditions)


WITHHELD_DOCUMENTS = " AND d.id <> ALL(%(withheld_documents)s::bigint[])"


def _chunk_filter(filter_conditions: str, withheld: list[int], params: dict[str, Any]) -> str:
    """The condition on a chunk `c` that keeps it to the filtered documents, less those
    `withheld` from the reader. ARRAY(...) makes the documents an InitPlan evaluated once,
    not a semi-join that would stop the HNSW index from giving the order. Without filters
    the withheld documents' ids are left out directly: few, where the readable ones may be
    many."""
    if not filter_conditions:
        return " AND c.document_id <> ALL(%(withheld_documents)s::bigint[])" if withheld else ""
    document_conditions = filter_conditions + (WITHHELD_DOCUMENTS if withheld else "")
    # Fixed SQL pieces only; every value is a bound parameter.
    documents = (
        "SELECT d.id FROM workspaces_document d WHERE d.workspace_id = ANY(%(workspace_ids)s)"
    )
    return f" AND c.document_id = ANY(ARRAY({documents}{document_conditions}))"


@dataclass(frozen=True)
class ParsedQuery:
    """A user's query split for the lexical leg."""

    words: str  # OR-ed words: the BM25 terms
    phrases: tuple[str, ...]  # must match as phrases (OR-ed with the words)
    excluded: tuple[str, ...]  # words or phrases a chunk must not contain

    @property
    def positive_text(self) -> str:
        return " ".join((self.words, *self.phrases)).strip()


def query_parse(query: str) -> ParsedQuery:
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    for minus_phrase, phrase, minus_word, word in QUERY_TOKEN.findall(query):
        if phrase or minus_phrase:
            (excluded if minus_phrase else phrases).append(phrase)
        elif minus_word and word:
            excluded.append(word)
        elif word.upper() != "OR":
            words.append(word)
    return ParsedQuery(" ".join(words), tuple(p for p in phrases if p), tuple(excluded))


def _tsquery_sql(parsed: ParsedQuery, config_param: str, params: dict[str, Any]) -> str:
    """SQL for the tsquery that finds lexical candidates in one text-search configuration:
    the query's selective lexemes OR-ed (built in SQL, NULL when there are none), OR any
    quoted phrase, AND NOT any minus term."""
    cfg = f"%({config_param})s::regconfig"
    words = "(SELECT selective FROM query_lexemes)"
    phrases = []
    for index, phrase in enumerate(parsed.phrases):
        params[f"{config_param}_p{index}"] = phrase
        phrases.append(f"phraseto_tsquery({cfg}, %({config_param}_p{index})s)")
    if phrases:
        any_phrase = " || ".join(phrases)
        expression = f"coalesce({words} || {any_phrase}, {any_phrase})"
    else:
        expression = words
    for index, term in enumerate(parsed.excluded):
        params[f"{config_param}_x{index}"] = term
        expression += f" && !!phraseto_tsquery({cfg}, %({config_param}_x{index})s)"
    return expression


VECTOR_LEG = """
vector_leg AS (
  SELECT id, 1 - distance AS score, row_number() OVER (ORDER BY distance) AS rank
  FROM (
    SELECT c.id, c.embedding <=> %(vector)s::vector AS distance FROM assistant_chunk c
    WHERE c.workspace_id = ANY(%(workspace_ids)s){chunk_filter}
    ORDER BY c.embedding <=> %(vector)s::vector LIMIT %(candidates)s
  ) nearest
)"""
# Exact search: every readable chunk's distance, computed once, no graph. Cheaper than the
# graph walk when few chunks are readable, and it cannot miss. OFFSET 0 keeps the planner
# from folding the subquery into the ORDER BY, which it would then serve from the HNSW index.
EXACT_VECTOR_LEG = """
vector_leg AS (
  SELECT id, 1 - distance AS score, row_number() OVER (ORDER BY distance) AS rank
  FROM (
    SELECT c.id, c.embedding <=> %(vector)s::vector AS distance FROM assistant_chunk c
    WHERE c.workspace_id = ANY(%(workspace_ids)s){chunk_filter} OFFSET 0
  ) scored
  ORDER BY distance LIMIT %(candidates)s
)"""
NO_VECTOR_LEG = (
    "vector_leg AS (SELECT 0::bigint AS id, 0.0::float8 AS score, 0::bigint AS rank WHERE false)"
)

# The lexical leg. Every query lexeme is scored, but only the selective ones find candidates
# through the GIN index: with OR semantics a claim's common words ("cell", "increas") match
# a large share of the corpus, and a chunk that holds none of its rarer words seldom makes
# the top of BM25 anyway. Selective: the query's words taken rarest first while each is in
# at most RETRIEVAL_LEXICAL_MATCH_SHARE of the chunks (or RETRIEVAL_LEXICAL_MATCH_FLOOR
# chunks, whichever is more: in a small knowledge base "annual" of "annual leave" is in 7 of
# 101 chunks, no common word) and the chunks they are expected to
# match among the searched ones (document frequencies summed, times the share of the
# searched chunks the filters keep) stay within RETRIEVAL_LEXICAL_MATCH_BUDGET; at least the
# RETRIEVAL_LEXICAL_MATCH_MIN_TERMS rarest. The budget keeps the cost of a query flat as the
# corpus grows. The statistics are those of the passages the reader may read: the passages of
# documents withheld from them (their source's readers) are counted out of the workspaces'
# (withheld_chunks: none in most organizations). tf comes from the chunk's tsvector reduced
# to the query's lexemes (ts_delete of everything else), not from unnest() of the whole
# tsvector.
LEXICAL_LEG = """
withheld_chunks AS (
  SELECT c.search, c.lexeme_count FROM assistant_chunk c
  WHERE c.document_id = ANY(%(withheld_documents)s::bigint[])
),
withheld_totals AS (
  SELECT count(*) AS chunks, coalesce(sum(lexeme_count), 0) AS lexemes FROM withheld_chunks
),
stats AS (
  SELECT greatest(sum(chunk_count) - (SELECT chunks FROM withheld_totals), 1)::float8 AS n,
         greatest(
           (coalesce(sum(lexeme_total), 0) - (SELECT lexemes FROM withheld_totals))::float8
             / greatest(sum(chunk_count) - (SELECT chunks FROM withheld_totals), 1),
           1
         ) AS avgdl
  FROM workspaces_corpusstat WHERE workspace_id = ANY(%(workspace_ids)s)
),
readable AS (SELECT least(%(readable_chunks)s / s.n, 1) AS share FROM stats s),
query_terms AS (
  SELECT lexeme, idf, is_word AND (
      chunk_count <= greatest(%(match_share)s * n, %(match_floor)s)
      AND matched * readable_share <= %(match_budget)s
      OR rarity <= %(match_min_terms)s
    ) AS selective
  FROM (
    SELECT t.lexeme, t.chunk_count, s.n, r.share AS readable_share,
           ln(1 + (s.n - t.chunk_count + 0.5) / (t.chunk_count + 0.5)) AS idf,
           -- Quoted phrases find their own candidates; only the plain words are pruned.
           t.lexeme = ANY({word_lexemes}) AS is_word,
           sum(t.chunk_count) OVER rarest AS matched,
           row_number() OVER rarest AS rarity
    FROM (
      SELECT lexeme, sum(chunk_count) AS chunk_count FROM (
        SELECT lexeme, chunk_count FROM workspaces_termstat
        WHERE workspace_id = ANY(%(workspace_ids)s) AND lexeme = ANY({lexemes})
        UNION ALL
        SELECT u.lexeme, -count(*) FROM withheld_chunks w,
               unnest(tsvector_to_array(w.search)) u(lexeme)
        WHERE u.lexeme = ANY({lexemes}) GROUP BY u.lexeme
      ) counted
      GROUP BY lexeme HAVING sum(chunk_count) > 0
    ) t CROSS JOIN stats s CROSS JOIN readable r
    WINDOW rarest AS (ORDER BY t.lexeme <> ALL({word_lexemes}), t.chunk_count, t.lexeme)
  ) ranked
),
query_lexemes AS (
  SELECT coalesce(array_agg(lexeme), '{{}}') AS lexemes,
         string_agg(quote_literal(lexeme), ' | ') FILTER (WHERE selective)::tsquery AS selective
  FROM query_terms
),
matches AS (
  SELECT c.id, c.search, c.lexeme_count FROM assistant_chunk c
  WHERE ({match}){chunk_filter}
),
lexical_scored AS (
  SELECT m.id, sum(
      q.idf * (u.tf * (%(k1)s + 1))
      / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * m.lexeme_count / s.avgdl))
    ) AS score
  FROM matches m
  CROSS JOIN stats s
  CROSS JOIN query_lexemes l
  CROSS JOIN LATERAL (
    SELECT v.lexeme, (
      SELECT sum(CASE w WHEN 'A' THEN %(heading_weight)s ELSE 1 END) FROM unnest(v.weights) w
    ) AS tf
    FROM unnest(ts_delete(m.search, tsvector_to_array(ts_delete(m.search, l.lexemes)))) v
  ) u
  JOIN query_terms q ON q.lexeme = u.lexeme
  GROUP BY m.id
),
lexical_leg AS (
  SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank
  FROM lexical_scored ORDER BY score DESC, id LIMIT %(candidates)s
)"""
NO_LEXICAL_LEG = (
    "lexical_leg AS (SELECT 0::bigint AS id, 0.0::float8 AS score, 0::bigint AS rank WHERE false)"
)
# A leg run on its own connection, its ranked list brought back as parameters.
GIVEN_LEG = """
{leg} AS (
  SELECT id, score, rank
  FROM unnest(%({leg}_ids)s::bigint[], %({leg}_scores)s::float8[])
       WITH ORDINALITY AS g(id, score, rank)
)"""

FUSED = """
fused AS (
  SELECT coalesce(v.id, l.id) AS id,
         coalesce(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)
           + coalesce(%(lexical_weight)s / (%(rrf_k)s + l.rank), 0) AS score,
         v.rank AS vector_rank, v.score AS vector_score,
         l.rank AS lexical_rank, l.score AS lexical_score
  FROM vector_leg v FULL OUTER JOIN lexical_leg l ON v.id = l.id
)
SELECT c.id, c.document_id, d.title, c.workspace_id, c.ordinal, c.text, c.page, c.heading_path,
       f.score::float8, f.vector_rank, f.vector_score::float8, f.lexical_rank,
       f.lexical_score::float8
FROM fused f
JOIN assistant_chunk c ON c.id = f.id
JOIN workspaces_document d ON d.id = c.document_id
ORDER BY f.score DESC, c.id
LIMIT %(k)s
"""


def chunks_retrieve(
    *,
    user: User,
    query: str,
    within: Iterable[int] | None = None,
    k: int = 10,
    mode: str = "hybrid",
    candidates: int | None = None,
    query_vector: list[float] | None = None,
    filters: RetrievalFilters | None = None,
    distinct: bool = False,
    shared: bool = False,
) -> list[RetrievedChunk]:
    """The top `k` chunks for `query` that `user` may read, among the workspaces `within`
    (None: all of them); the access policy decides which. `filters` narrow it further, in
    the same SQL. A caller that has embedded the query already passes `query_vector`.
    `distinct`: each passage text once (answers), though several documents hold it.
    `shared`: for an audience beyond `user` (a Slack channel): documents without readers
    only (workspaces.access.readers_allow)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    query = query.strip()[: settings.RETRIEVAL_MAX_QUERY_CHARS]
    if not query:
        return []
    # The readable workspaces with their languages in one query (the lexical leg needs both).
    readable = Workspace.objects.filter(id__in=workspace_ids_readable(user=user, within=within))
    language_of: dict[int, str] = dict(readable.values_list("id", "language"))
    if not language_of:
        return []
    workspace_ids = sorted(language_of)
    # Documents of these workspaces whose source's readers keep them from `user`: both legs
    # leave their chunks out, in the same SQL (workspaces.access).
    withheld = list(document_ids_withheld(user=user, workspace_ids=workspace_ids, shared=shared))
    candidates = candidates or max(settings.RETRIEVAL_CANDIDATES, k)
    params: dict[str, Any] = {
        "workspace_ids": workspace_ids,
        "withheld_documents": withheld,
        "candidates": candidates,
        # Room for identical passages (two versions of one file, side by side) to be dropped.
        "k": k * 2 if distinct else k,
        "rrf_k": float(settings.RETRIEVAL_RRF_K),
        "vector_weight": float(settings.RETRIEVAL_VECTOR_WEIGHT),
        "lexical_weight": float(settings.RETRIEVAL_LEXICAL_WEIGHT),
        "k1": float(settings.RETRIEVAL_BM25_K1),
        "b": float(settings.RETRIEVAL_BM25_B),
        "heading_weight": float(settings.RETRIEVAL_HEADING_WEIGHT),
        "match_share": float(settings.RETRIEVAL_LEXICAL_MATCH_SHARE),
        "match_floor": settings.RETRIEVAL_LEXICAL_MATCH_FLOOR,
        "match_budget": float(settings.RETRIEVAL_LEXICAL_MATCH_BUDGET),
        "match_min_terms": settings.RETRIEVAL_LEXICAL_MATCH_MIN_TERMS,
    }
    filter_conditions = _document_conditions(filters or RetrievalFilters(), params)
    chunk_filter = _chunk_filter(filter_conditions, withheld, params)
    document_conditions = filter_conditions + (WITHHELD_DOCUMENTS if withheld else "")
    # How many chunks the readable documents hold: exact search or the graph, how wide the
    # graph search is, and how many candidates the lexical leg can afford.
    readable_chunks, all_chunks = chunks_counted(params, document_conditions)
    params["readable_chunks"] = float(readable_chunks)
    vector_leg = lexical_leg = None
    if mode in ("hybrid", "vector"):
        vector = query_vector or embeddings_in_force().embed_query(query)
        params["vector"] = Vector(vector).to_text()
        exact = readable_chunks <= settings.RETRIEVAL_EXACT_MAX_CHUNKS
        vector_leg = (EXACT_VECTOR_LEG if exact else VECTOR_LEG).format(chunk_filter=chunk_filter)
    if mode in ("hybrid", "lexical"):
        lexical_leg = _lexical_leg(query, language_of, params, document_conditions, chunk_filter)
    # Iterative scans keep walking the HNSW graph until enough rows pass the workspace
    # filter. The graph's first candidate list grows as the filter gets more selective: at
    # 1M chunks with a tenth of them readable, recall@10 was 0.905 with 300 and 0.976 with
    # 1,000 (bench/retrieval.py).
    share = readable_chunks / all_chunks if all_chunks else 1.0
    ef_search = settings.RETRIEVAL_EF_SEARCH * min(1 / max(share, 0.01), 4)
    ef_search = round(min(max(candidates, ef_search), 1000))
    if vector_leg and lexical_leg and legs_concurrent():
        rows = _legs_apart(vector_leg, lexical_leg, params, ef_search)
    else:
        legs = [vector_leg or NO_VECTOR_LEG, lexical_leg or NO_LEXICAL_LEG]
        sql = "WITH " + ",\n".join(legs) + ",\n" + FUSED
        rows = _statement_rows(sql, params, ef_search if vector_leg else None)
    results = [RetrievedChunk(*row) for row in rows]
    return _passages_distinct(results)[:k] if distinct else results


def _passages_distinct(results: list[RetrievedChunk]) -> list[RetrievedChunk]:
    """The results without a passage whose text (spacing and case aside) a better-ranked
    one already has: an answer built from two copies of one passage cites it twice and
    leaves out something else."""
    seen: set[str] = set()
    distinct = []
    for result in results:
        key = " ".join(result.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            distinct.append(result)
    return distinct


def legs_concurrent() -> bool:
    """Whether the vector leg may run on a connection of its own: not inside a transaction,
    whose uncommitted rows another connection would not see."""
    return settings.RETRIEVAL_CONCURRENT_LEGS and not connection.in_atomic_block


_vector_legs = ThreadPoolExecutor(
    max_workers=settings.RETRIEVAL_VECTOR_LEG_THREADS, thread_name_prefix="vector-leg"
)


def _legs_apart(
    vector_leg: str, lexical_leg: str, params: dict[str, Any], ef_search: int
) -> list[tuple[Any, ...]]:
    """The vector leg in a thread, on its connection, while this one runs the lexical leg;
    then one statement fuses the two lists and reads the chunks."""
    vector_sql = "WITH " + vector_leg + LEG_ROWS.format(leg="vector_leg")
    vector = _vector_legs.submit(
        on_pool_thread, tenant_current(), _statement_rows,
        sql=vector_sql, params=params, ef_search=ef_search,
    )  # fmt: skip
    lexical_sql = "WITH " + lexical_leg + LEG_ROWS.format(leg="lexical_leg")
    try:
        lexical = _statement_rows(lexical_sql, params)
    finally:
        vector_rows = vector.result()  # the thread is done with `params` either way
    ranked = {"vector_leg": vector_rows, "lexical_leg": lexical}
    given = dict(params)
    for leg, rows in ranked.items():
        given[f"{leg}_ids"] = [row[0] for row in rows]
        given[f"{leg}_scores"] = [row[1] for row in rows]
    legs = [GIVEN_LEG.format(leg=leg) for leg in ranked]
    return _statement_rows("WITH " + ",\n".join(legs) + ",\n" + FUSED, given)


LEG_ROWS = "\nSELECT id, score FROM {leg} ORDER BY rank"


def _statement_rows(
    sql: str, params: dict[str, Any], ef_search: int | None = None
) -> list[tuple[Any, ...]]:
    """`sql`'s rows; `ef_search` for a statement that walks the HNSW graph."""
    with transaction.atomic(), connection.cursor() as cursor:
        if ef_search is not None:
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true),"
                " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                [str(ef_search)],
            )
        cursor.execute(sql, params)
        return cursor.fetchall()


def chunks_counted(params: dict[str, Any], document_conditions: str) -> tuple[int, int]:
    """About how many chunks the readable (and filtered) documents hold, from their counts
    rather than a count of the chunks, and how many the organization holds: the statistics
    that choose exact search or the graph, and how wide the graph search is. The second is
    the size of the HNSW graph every workspace shares, which the walk depends on anyway; no
    score is computed from it."""
    with connection.cursor() as cursor:
        # Fixed SQL pieces only; every value is a bound parameter.
        sql = (
            "SELECT coalesce(sum(d.chunks_total), 0),"
            " (SELECT coalesce(sum(chunk_count), 0) FROM workspaces_corpusstat)"
            " FROM workspaces_document d WHERE d.workspace_id = ANY(%(workspace_ids)s)"
        )
        cursor.execute(sql + document_conditions, params)
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _lexical_leg(
    query: str,
    language_of: dict[int, str],
    params: dict[str, Any],
    document_conditions: str,
    chunk_filter: str,
) -> str | None:
    parsed = query_parse(query)
    if not parsed.positive_text:
        return None
    languages: dict[str, list[int]] = {}
    for workspace_id, language in sorted(language_of.items()):
        languages.setdefault(language, []).append(workspace_id)
    matches, lexeme_sources, word_sources = [], [], []
    for index, (language, ids) in enumerate(sorted(languages.items())):
        config = f"cfg{index}"
        params[config] = language
        params[f"{config}_workspaces"] = ids
        params[f"{config}_positive"] = parsed.positive_text
        tsquery = _tsquery_sql(parsed, config, params)
        matches.append(
            f"(c.workspace_id = ANY(%({config}_workspaces)s) AND c.search @@ ({tsquery}))"
        )
        # With several languages the lexemes of all of them are matched and scored in every
        # workspace: a stem of one language rarely is a word of another.
        lexeme_sources.append(
            f"tsvector_to_array(to_tsvector(%({config})s::regconfig, %({config}_positive)s))"
        )
        params[f"{config}_words"] = parsed.words
        word_sources.append(
            f"tsvector_to_array(to_tsvector(%({config})s::regconfig, %({config}_words)s))"
        )
    # A word whose stem no chunk has is searched as the stems its other forms have.
    variants = sorted(
        {
            variant
            for language in languages
            for found in text_term_variants(
                text=parsed.words, language=language, workspace_ids=params["workspace_ids"]
            ).values()
            for variant in found
        }
    )
    params["variants"] = variants
    lexeme_sources.append("%(variants)s::text[]")
    word_sources.append("%(variants)s::text[]")
    # A query of only stop words has no lexemes: no chunk matches, the vector leg answers.
    return LEXICAL_LEG.format(
        match=" OR ".join(matches),
        lexemes=" || ".join(lexeme_sources),
        word_lexemes="(" + " || ".join(word_sources) + ")",
        document_conditions=document_conditions,
        chunk_filter=chunk_filter,
    )


def query_lexemes(*, query: str, language: str) -> list[str]:
    """The lexemes the lexical leg searches for, e.g. to highlight them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))",
            [language, query_parse(query).positive_text],
        )
        row = cursor.fetchone()
    return list(row[0]) if row else []
