"""The Celery app. Tasks are tenant-aware: a task runs in the schema of the organization
that queued it (tenant-schemas-celery puts the schema name in the message headers)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")

app = CeleryApp("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
