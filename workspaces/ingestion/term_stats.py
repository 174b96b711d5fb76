"""BM25 term statistics per workspace, kept in SQL as chunks come and go (within the caller's
transaction); search reads them (workspaces.search.term_stats).

Rows are touched in (workspace, lexeme) order so that two documents swapping at once lock
them in the same order. A workspace's rows go with it (cascade).
"""

from django.db import connection

# Per workspace and lexeme, how many of the documents' chunks contain it.
SUBTRACT = """
UPDATE workspaces_termstat t SET chunk_count = t.chunk_count - s.chunks
FROM (
  SELECT c.workspace_id, u.lexeme, count(*) AS chunks
  FROM assistant_chunk c CROSS JOIN unnest(tsvector_to_array(c.search)) AS u(lexeme)
  WHERE c.document_id = ANY(%(ids)s) AND c.search IS NOT NULL
  GROUP BY c.workspace_id, u.lexeme ORDER BY c.workspace_id, u.lexeme
) s
WHERE t.workspace_id = s.workspace_id AND t.lexeme = s.lexeme
"""
ADD = """
INSERT INTO workspaces_termstat (workspace_id, lexeme, chunk_count)
SELECT c.workspace_id, u.lexeme, count(*)
FROM assistant_chunk c CROSS JOIN unnest(tsvector_to_array(c.search)) AS u(lexeme)
WHERE c.document_id = ANY(%(ids)s) AND c.search IS NOT NULL
GROUP BY c.workspace_id, u.lexeme ORDER BY c.workspace_id, u.lexeme
ON CONFLICT (workspace_id, lexeme) DO UPDATE
SET chunk_count = workspaces_termstat.chunk_count + EXCLUDED.chunk_count
"""
CORPUS = """
INSERT INTO workspaces_corpusstat (workspace_id, chunk_count, lexeme_total)
SELECT workspace_id, %(sign)s * count(*), %(sign)s * coalesce(sum(lexeme_count), 0)
FROM assistant_chunk WHERE document_id = ANY(%(ids)s)
GROUP BY workspace_id ORDER BY workspace_id
ON CONFLICT (workspace_id) DO UPDATE SET
  chunk_count = workspaces_corpusstat.chunk_count + EXCLUDED.chunk_count,
  lexeme_total = workspaces_corpusstat.lexeme_total + EXCLUDED.lexeme_total
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
    with connection.cursor() as cursor:
        cursor.execute(statement, {"ids": document_ids})
        cursor.execute(CORPUS, {"sign": sign, "ids": document_ids})
