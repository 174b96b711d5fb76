# The Celery app is loaded with Django (the settings live in this package), so that the
# apps' `shared_task`s bind to it, tenant-aware, in the web process as in the worker.
from saas.celery import app as celery_app

__all__ = ["celery_app"]
