from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "assistant"

    def ready(self) -> None:
        from assistant.gaps import gaps_recheck_on_index
        from workspaces.signals import documents_indexed

        documents_indexed.connect(gaps_recheck_on_index, dispatch_uid="assistant.gaps")
