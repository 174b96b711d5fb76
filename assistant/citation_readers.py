"""A citation keeps its document's title and passage after the document is deleted (a sync
removes files routinely). So that those copies stay with the people the document's source
let read it, the document's readers are copied onto its citations as it is deleted; the
access policy then reads the citation as it read the document (assistant.selectors)."""

from typing import Any

from assistant.models import Citation
from workspaces.models import Document


def citation_readers_keep(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """pre_delete of a Document, before its citations lose it (SET_NULL)."""
    if not instance.readers_restricted:
        return  # its citations' defaults already say "no readers of its own"
    Citation.objects.filter(document_id=instance.pk).update(
        readers_restricted=True,
        reader_emails=instance.reader_emails,
        reader_groups=instance.reader_groups,
        reader_domains=instance.reader_domains,
    )
