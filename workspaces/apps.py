from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from billing.usage import usage_counter_register
        from workspaces.selectors import document_count, storage_bytes, workspace_count

        usage_counter_register(meter="documents", counter=document_count)
        usage_counter_register(meter="storage", counter=storage_bytes)
        usage_counter_register(meter="workspaces", counter=workspace_count)
