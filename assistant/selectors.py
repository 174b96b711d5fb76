from django.db.models import QuerySet

from assistant.models import Chunk
from workspaces.models import Document


def chunk_list(*, document: Document) -> QuerySet[Chunk]:
    """A document's chunks; the caller has already checked the document is readable."""
    return Chunk.objects.filter(document=document).defer("embedding", "search").order_by("ordinal")
