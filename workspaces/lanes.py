"""The knowledge base's Celery lanes, and sending a task by its name.

The large lane is served by a worker of its own (INGEST_LARGE_CONCURRENCY): large documents'
ingestion and the re-embedding of an organization's chunks go there, so that they never hold
every worker (workspaces.ingestion.queues chooses a document's lane).

Code that queues a task sends it by name (`task_send`) rather than importing the task
module (workspaces.ingestion.tasks), which imports that code to do the work.
"""

from typing import Any

from celery import current_app
from django.conf import settings


def task_send(name: str, *args: Any, queue: str) -> None:
    """Queue the registered task `name` (e.g. "workspaces.tasks.document_ingest_task") on
    `queue`, with its own options: its time limits and the organization's schema travel in
    the message."""
    if name not in current_app.tasks:
        # Only a worker imports the task modules when it starts; a web process learns of
        # them here, through the same loading (CELERY_IMPORTS, autodiscovery), the first time.
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args, queue=queue)


def large_lane() -> str:
    """The queue of large documents, served by a worker of its own (INGEST_LARGE_CONCURRENCY)."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.large"
