"""Reads of workspaces, documents and chunks. Each one takes the reader and filters through
the access policy (workspaces.access) inside SQL; None or an empty list means "not for
you", which views turn into a 404."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from pgvector.django import CosineDistance

from accounts.models import User
from workspaces.access import (
    document_ids_readable,
    documents_readable,
    readers_allow,
    workspace_ids_manageable,
    workspace_ids_readable,
)
from workspaces.models import Chunk, Document, DocumentStatus, Workspace, WorkspaceGrant

if TYPE_CHECKING:  # retrieval loads the embedding stack; the counters here load at start-up
    from workspaces.search.retrieval import RetrievedChunk


def workspace_list_readable(*, user: User) -> QuerySet[Workspace]:
    failed = DocumentStatus.FAILED
    others = [status for status in DocumentStatus.values if status != failed]
    # Counted over the documents the reader may read: a count must not tell of the others.
    readable = readers_allow(user=user, prefix="documents__")
    return (
        Workspace.objects.filter(id__in=workspace_ids_readable(user=user))
        .annotate(
            document_count=Count("documents", filter=Q(documents__status__in=others) & readable),
            failed_count=Count("documents", filter=Q(documents__status=failed) & readable),
        )
        .order_by("name")
    )


def workspace_get_readable(*, user: User, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug, id__in=workspace_ids_readable(user=user)).first()


def workspace_get_manageable(*, user: User, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug, id__in=workspace_ids_manageable(user=user)).first()


def workspace_language(*, workspace_id: int) -> str:
    language = Workspace.objects.filter(pk=workspace_id).values_list("language", flat=True)
    return language.first() or "english"


def document_list(*, user: User, workspace: Workspace, query: str = "") -> QuerySet[Document]:
    documents = (
        documents_readable(user=user).filter(workspace=workspace).select_related("uploaded_by")
    )
    if query:
        documents = documents.filter(Q(title__icontains=query) | Q(original_name__icontains=query))
    return documents


DIGITS = re.compile(r"(\d+)")
STATUS_ORDER = {status: index for index, status in enumerate(DocumentStatus.values)}


def title_natural_key(title: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts "Note 6" before "Note 26": digit runs compare as numbers, the rest as text
    without case."""
    return tuple(
        (0, int(part)) if index % 2 else (1, part.casefold())
        for index, part in enumerate(DIGITS.split(title))
        if part
    )


DOCUMENT_ORDERS: dict[str, Callable[[Document], Any]] = {
    "title": lambda d: title_natural_key(d.title),
    "type": lambda d: d.get_kind_display().casefold(),
    "status": lambda d: STATUS_ORDER.get(d.status, len(STATUS_ORDER)),
    "updated": lambda d: d.updated_at,
}


def document_list_ordered(
    *, user: User, workspace: Workspace, query: str = "", order: str = "title"
) -> list[Document]:
    """The documents list's rows, ordered by a column (`-column` for descending), ties by
    title. Natural order has no PostgreSQL collation without ICU (the embedded server has
    none), so the rows, all of which the page shows, are sorted here."""
    column = order.removeprefix("-")
    key = DOCUMENT_ORDERS.get(column, DOCUMENT_ORDERS["title"])
    documents = sorted(
        document_list(user=user, workspace=workspace, query=query),
        key=DOCUMENT_ORDERS["title"],
    )
    return sorted(documents, key=key, reverse=order.startswith("-"))


def document_get_readable(*, user: User, workspace: Workspace, document_id: int) -> Document | None:
    return (
        documents_readable(user=user)
        .filter(pk=document_id, workspace=workspace)
        .select_related("workspace", "uploaded_by")
        .first()
    )


def chunk_list(*, user: User, document: Document) -> QuerySet[Chunk]:
    """A document's passages in order, as the document page shows them."""
    return (
        Chunk.objects.filter(document=document, document_id__in=document_ids_readable(user=user))
        .defer("embedding", "search")
        .order_by("ordinal")
    )


def chunk_neighbours(*, user: User, chunk: Chunk) -> tuple[Chunk | None, Chunk | None]:
    """The passages just before and after `chunk` in its document, for context."""
    around = {
        c.ordinal: c
        for c in Chunk.objects.filter(
            document_id=chunk.document_id,
            ordinal__in=[chunk.ordinal - 1, chunk.ordinal + 1],
            document_id__in=document_ids_readable(user=user),
        ).defer("embedding", "search")
    }
    return around.get(chunk.ordinal - 1), around.get(chunk.ordinal + 1)


def results_split_at_floor(
    *, results: Sequence["RetrievedChunk"], floor: float
) -> tuple[list["RetrievedChunk"], list["RetrievedChunk"]]:
    """Results above the relevance floor, then those below it: no lexical match and a vector
    similarity at or under `floor`. Each keeps its fused rank's order."""
    below = [r for r in results if r.lexical_rank is None and (r.vector_score or 0.0) <= floor]
    return [r for r in results if r not in below], below


def workspace_grants(*, workspace: Workspace) -> QuerySet[WorkspaceGrant]:
    return workspace.grants.select_related("user", "group").order_by("group__name", "user__email")


def grant_get(*, workspace: Workspace, grant_id: int) -> WorkspaceGrant | None:
    return WorkspaceGrant.objects.filter(workspace=workspace, pk=grant_id).first()


def grantee_find(*, principal: str) -> User | Group | None:
    """The active member with this email, else the group with this name."""
    user = User.objects.filter(email__iexact=principal.strip(), is_active=True).first()
    return user or Group.objects.filter(name__iexact=principal.strip()).first()


# What the organization holds, for its plan's caps (registered with billing.usage). A
# document that failed holds no passages and is not counted; retrying it checks the cap.
def document_count() -> int:
    return Document.objects.exclude(status=DocumentStatus.FAILED).count()


def storage_bytes() -> int:
    return int(Document.objects.aggregate(total=Sum("size"))["total"] or 0)


def workspace_count() -> int:
    return Workspace.objects.count()


def chunk_similarities(*, query_vector: Sequence[float], chunk_ids: list[int]) -> dict[int, float]:
    """Cosine similarity of each of these chunks (retrieved for the reader already) to the
    query."""
    similar = Chunk.objects.filter(pk__in=chunk_ids).annotate(
        similarity=1 - CosineDistance("embedding", list(query_vector))
    )
    return {pk: float(similarity) for pk, similarity in similar.values_list("pk", "similarity")}


def chunk_texts_beside(
    *, document_id: int, workspace_id: int, ordinal: int
) -> tuple[str | None, str | None]:
    """The texts of the passages just before and after a retrieved one, to read a sentence
    that a chunk boundary cut. Retrieval already applied the access policy to the passage;
    its neighbours are in the same document and workspace."""
    around = dict(
        Chunk.objects.filter(
            document_id=document_id,
            workspace_id=workspace_id,
            ordinal__in=[ordinal - 1, ordinal + 1],
        ).values_list("ordinal", "text")
    )
    return around.get(ordinal - 1), around.get(ordinal + 1)


def chunk_total() -> int:
    """How many passages the organization has, in every workspace."""
    return Chunk.objects.count()


def chunk_texts_naming(
    *, word: str, language: str, workspace_ids: Sequence[int], limit: int
) -> list[str]:
    """Up to `limit` chunk texts holding `word`, of the workspaces `workspace_ids` (the
    reader's searched ones): what the answer step reads to tell what kind of thing a name is.
    Only documents every reader of those workspaces may read: none whose source's readers
    are mirrored, so that nothing one person may not read shapes what they are told."""
    from django.contrib.postgres.search import SearchQuery

    return list(
        Chunk.objects.filter(
            workspace_id__in=list(workspace_ids),
            document__readers_restricted=False,
            search=SearchQuery(word, config=language),
        ).values_list("text", flat=True)[:limit]
    )


def document_section_openings(
    *, document_id: int, workspace_id: int, limit: int
) -> list["RetrievedChunk"]:
    """The first passage under each heading of a retrieved passage's document, in reading
    order: what a summary of the document reads. Retrieval already applied the access
    policy to the passage; these are in the same document and workspace."""
    from workspaces.search.retrieval import RetrievedChunk

    rows = (
        Chunk.objects.filter(document_id=document_id, workspace_id=workspace_id)
        .order_by("ordinal")
        .values_list("pk", "document__title", "ordinal", "text", "page", "heading_path")
        .iterator()
    )
    openings: list[RetrievedChunk] = []
    seen: set[str] = set()
    for pk, title, ordinal, text, page, heading_path in rows:
        if heading_path in seen:
            continue
        seen.add(heading_path)
        openings.append(
            RetrievedChunk(
                chunk_id=pk,
                document_id=document_id,
                document_title=title,
                workspace_id=workspace_id,
                ordinal=ordinal,
                text=text,
                page=page,
                heading_path=heading_path,
                score=0.0,
                vector_rank=None,
                vector_score=None,
                lexical_rank=None,
                lexical_score=None,
            )
        )
        if len(openings) == limit:
            break
    return openings


@dataclass(frozen=True)
class EarlierVersion:
    document: Document
    shared: int  # of the later document's passages, how many it holds word for word
    total: int


def document_earlier_version(*, user: User, document: Document) -> EarlierVersion | None:
    """The older document of the same workspace that holds most of this one's passages word
    for word, which this one is then likely a new version of. "Most" is more than half:
    a definition (a revision keeps most of what it revises), not a threshold tuned on data."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT other.document_id, count(DISTINCT mine.id)
            FROM assistant_chunk mine
            JOIN assistant_chunk other ON other.workspace_id = mine.workspace_id
              AND other.document_id <> mine.document_id AND other.text = mine.text
            WHERE mine.document_id = %s
            GROUP BY other.document_id ORDER BY 2 DESC, 1 LIMIT 1
            """,
            [document.pk],
        )
        row = cursor.fetchone()
    total = Chunk.objects.filter(document=document).count()
    if row is None or row[1] * 2 <= total:
        return None
    other = document_get_readable(user=user, workspace=document.workspace, document_id=row[0])
    if other is None or other.created_at >= document.created_at:
        return None
    return EarlierVersion(document=other, shared=row[1], total=total)
