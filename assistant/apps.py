from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "assistant"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from assistant.citation_readers import citation_readers_keep
        from assistant.gaps import gaps_recheck_on_index
        from workspaces.models import Document
        from workspaces.signals import documents_indexed

        documents_indexed.connect(gaps_recheck_on_index, dispatch_uid="assistant.gaps")
        pre_delete.connect(
            citation_readers_keep, sender=Document, dispatch_uid="assistant.citation_readers"
        )
