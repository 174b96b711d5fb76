"""BM25 term statistics as search reads them: per workspace, combined at query time over
the workspaces searched, so that what a reader sees scored never depends on a workspace they
may not read. Ingestion keeps them (workspaces.ingestion.term_stats)."""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Sum

from workspaces.models import CorpusStat, TermStat


def term_chunk_counts(
    *, lexemes: Iterable[str], workspace_ids: Sequence[int]
) -> tuple[int, dict[str, int]]:
    """The number of chunks of the workspaces `workspace_ids`, and for each of `lexemes`
    that any of their chunks contains, how many do (BM25's N and document frequency)."""
    corpus = CorpusStat.objects.filter(workspace_id__in=list(workspace_ids))
    total = corpus.aggregate(total=Sum("chunk_count"))["total"] or 0
    counts = (
        TermStat.objects.filter(workspace_id__in=list(workspace_ids), lexeme__in=list(lexemes))
        .values("lexeme")
        .annotate(chunks=Sum("chunk_count"))
        .filter(chunks__gt=0)
        .values_list("lexeme", "chunks")
    )
    return int(total), dict(counts)


# The stemmer sends a word's forms to different stems now and then ("classification" is
# classif, "classifying" classifi): a stem no chunk has is read as those within two
# letters of it that share the rest, when it is long enough for that to be safe.
VARIANT_MIN_LENGTH = 6
VARIANT_LENGTH_DIFFERENCE = 2


def term_variants(*, lexemes: Iterable[str], workspace_ids: Sequence[int]) -> dict[str, list[str]]:
    """For each of `lexemes` that no chunk of the workspaces `workspace_ids` contains, the
    lexemes their chunks do contain that extend it or that it extends by at most two
    letters."""
    wanted = sorted({x for x in lexemes if len(x) >= VARIANT_MIN_LENGTH})
    if not wanted:
        return {}
    return _variants(wanted=wanted, text=None, language=None, workspace_ids=workspace_ids)


def text_term_variants(
    *, text: str, language: str, workspace_ids: Sequence[int]
) -> dict[str, list[str]]:
    """term_variants of the lexemes of `text` (a query), read in the same statement."""
    return _variants(wanted=None, text=text, language=language, workspace_ids=workspace_ids)


def _variants(
    *,
    wanted: list[str] | None,
    text: str | None,
    language: str | None,
    workspace_ids: Sequence[int],
) -> dict[str, list[str]]:
    """The lexemes `wanted`, or else those of `text`, with their variants."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT q.lexeme, t.lexeme
            FROM unnest(coalesce(
                %(wanted)s::text[],
                tsvector_to_array(to_tsvector(%(language)s::regconfig, %(text)s))
            )) AS q(lexeme)
            JOIN workspaces_termstat t ON t.workspace_id = ANY(%(workspace_ids)s)
              AND t.chunk_count > 0 AND t.lexeme <> q.lexeme AND (
                -- Extensions: a byte-wise range (the column's collation is C) that the
                -- primary key's index serves.
                (t.lexeme >= q.lexeme AND t.lexeme < (q.lexeme || chr(1114111))
                 AND length(t.lexeme) <= length(q.lexeme) + %(difference)s)
                OR t.lexeme = ANY(ARRAY(
                    SELECT left(q.lexeme, -n) FROM generate_series(1, %(difference)s) n
                    WHERE length(q.lexeme) - n >= %(shortest)s)))
            WHERE length(q.lexeme) >= %(min_length)s AND NOT EXISTS (
                SELECT 1 FROM workspaces_termstat k
                WHERE k.workspace_id = ANY(%(workspace_ids)s) AND k.lexeme = q.lexeme
                  AND k.chunk_count > 0
            )
            ORDER BY q.lexeme, t.lexeme
            """,
            {
                "wanted": wanted,
                "text": text,
                "language": language,
                "workspace_ids": list(workspace_ids),
                "difference": VARIANT_LENGTH_DIFFERENCE,
                "shortest": VARIANT_MIN_LENGTH - 1,
                "min_length": VARIANT_MIN_LENGTH,
            },
        )
        variants: dict[str, list[str]] = {}
        for lexeme, variant in cursor.fetchall():
            variants.setdefault(lexeme, []).append(variant)
    return variants
