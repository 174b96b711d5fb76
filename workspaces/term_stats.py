"""BM25 term statistics, kept in SQL as chunks come and go (within the caller's transaction).

ts_stat() reads the tsvectors of the chunks being removed or added and gives, per lexeme,
the number of chunks that contain it; rows are touched in lexeme order so that two
documents swapping at once lock them in the same order.
"""

from collections.abc import Iterable

from django.db import connection

from workspaces.models import CorpusStat, TermStat

_CHUNKS_OF = (
    "SELECT search FROM assistant_chunk WHERE document_id IN ({ids}) AND search IS NOT NULL"
)

SUBTRACT = """
UPDATE assistant_termstat t SET chunk_count = t.chunk_count - s.ndoc
FROM (SELECT word, ndoc FROM ts_stat(%(chunks)s) ORDER BY word) s
WHERE t.lexeme = s.word
"""
ADD = """
INSERT INTO assistant_termstat (lexeme, chunk_count)
SELECT word, ndoc FROM ts_stat(%(chunks)s) ORDER BY word
ON CONFLICT (lexeme) DO UPDATE
SET chunk_count = assistant_termstat.chunk_count + EXCLUDED.chunk_count
"""
CORPUS = """
INSERT INTO assistant_corpusstat (id, chunk_count, lexeme_total)
SELECT 1, %(sign)s * count(*), %(sign)s * coalesce(sum(lexeme_count), 0)
FROM assistant_chunk WHERE document_id = ANY(%(ids)s)
ON CONFLICT (id) DO UPDATE SET
  chunk_count = assistant_corpusstat.chunk_count + EXCLUDED.chunk_count,
  lexeme_total = assistant_corpusstat.lexeme_total + EXCLUDED.lexeme_total
"""
INDEX_TEXT = """
UPDATE assistant_chunk c
SET search = v.search,
    lexeme_count = coalesce(
      (SELECT sum(coalesce(array_length(u.positions, 1), 1)) FROM unnest(v.search) u), 0)
FROM (
  SELECT id, setweight(to_tsvector(%(language)s::regconfig, heading_path), 'A')
             || setweight(to_tsvector(%(language)s::regconfig, text), 'B') AS search
  FROM assistant_chunk WHERE document_id = ANY(%(ids)s)
) v
WHERE c.id = v.id
"""


def term_stats_remove(*, document_ids: list[int]) -> None:
    """Before a document's chunks are deleted."""
    _apply(document_ids, SUBTRACT, sign=-1)


def chunks_index_text(*, document_ids: list[int], language: str) -> None:
    """Write the chunks' tsvector (heading path weighted A, text B) and its length, in one
    pass: every row version costs an HNSW insertion too."""
    with connection.cursor() as cursor:
        cursor.execute(INDEX_TEXT, {"ids": document_ids, "language": language})


def term_stats_add(*, document_ids: list[int]) -> None:
    """After a document's chunks and their tsvectors are written."""
    _apply(document_ids, ADD, sign=1)


def _apply(document_ids: list[int], statement: str, *, sign: int) -> None:
    if not document_ids:
        return
    # ts_stat takes a query as text; the ids are integers from our own rows.
    chunks = _CHUNKS_OF.format(ids=", ".join(str(int(i)) for i in document_ids))
    with connection.cursor() as cursor:
        cursor.execute(statement, {"chunks": chunks})
        cursor.execute(CORPUS, {"sign": sign, "ids": document_ids})


def term_chunk_counts(*, lexemes: Iterable[str]) -> tuple[int, dict[str, int]]:
    """The organization's number of chunks, and for each of `lexemes` that any chunk
    contains, how many do (BM25's N and document frequency)."""
    total = CorpusStat.objects.filter(pk=1).values_list("chunk_count", flat=True).first() or 0
    counts = TermStat.objects.filter(lexeme__in=list(lexemes)).values_list("lexeme", "chunk_count")
    return total, dict(counts)


# The stemmer sends a word's forms to different stems now and then ("classification" is
# classif, "classifying" classifi): a stem no chunk has is read as those within two
# letters of it that share the rest, when it is long enough for that to be safe.
VARIANT_MIN_LENGTH = 6
VARIANT_LENGTH_DIFFERENCE = 2


def term_variants(*, lexemes: Iterable[str]) -> dict[str, list[str]]:
    """For each of `lexemes` that no chunk contains, the lexemes chunks do contain that
    extend it or that it extends by at most two letters."""
    wanted = sorted({x for x in lexemes if len(x) >= VARIANT_MIN_LENGTH})
    if not wanted:
        return {}
    return _variants(wanted=wanted, text=None, language=None)


def text_term_variants(*, text: str, language: str) -> dict[str, list[str]]:
    """term_variants of the lexemes of `text` (a query), read in the same statement."""
    return _variants(wanted=None, text=text, language=language)


def _variants(
    *, wanted: list[str] | None, text: str | None, language: str | None
) -> dict[str, list[str]]:
    """The lexemes `wanted`, or else those of `text`, with their variants."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT q.lexeme, t.lexeme
            FROM unnest(coalesce(
                %(wanted)s::text[],
                tsvector_to_array(to_tsvector(%(language)s::regconfig, %(text)s))
            )) AS q(lexeme)
            JOIN assistant_termstat t ON t.chunk_count > 0 AND t.lexeme <> q.lexeme AND (
                -- Extensions: a byte-wise range the text_pattern_ops index serves.
                (t.lexeme ~>=~ q.lexeme AND t.lexeme ~<~ (q.lexeme || chr(1114111))
                 AND length(t.lexeme) <= length(q.lexeme) + %(difference)s)
                OR t.lexeme = ANY(ARRAY(
                    SELECT left(q.lexeme, -n) FROM generate_series(1, %(difference)s) n
                    WHERE length(q.lexeme) - n >= %(shortest)s)))
            WHERE length(q.lexeme) >= %(min_length)s AND NOT EXISTS (
                SELECT 1 FROM assistant_termstat k WHERE k.lexeme = q.lexeme AND k.chunk_count > 0
            )
            ORDER BY q.lexeme, t.lexeme
            """,
            {
                "wanted": wanted,
                "text": text,
                "language": language,
                "difference": VARIANT_LENGTH_DIFFERENCE,
                "shortest": VARIANT_MIN_LENGTH - 1,
                "min_length": VARIANT_MIN_LENGTH,
            },
        )
        variants: dict[str, list[str]] = {}
        for lexeme, variant in cursor.fetchall():
            variants.setdefault(lexeme, []).append(variant)
    return variants
