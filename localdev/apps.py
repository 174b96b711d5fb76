"""The `localdev` app: local stand-ins for development and tests, never installed in
production.

It holds what a machine without cloud services needs to run and test the product: the
embedded PostgreSQL and Redis (`services.py`), the local servers speaking Stripe's and
Vertex AI's wire formats (`stripe_server.py`, `vertex_server.py`) with their management
commands, the demo organization (`manage.py demo_seed`), `make dev` (`run.py`) and the
pytest plugin that starts the services before the test settings load. Only the dev and test
settings list it; production settings never do, and no product package imports it. It has
no models.
"""

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class LocaldevConfig(AppConfig):
    name = "localdev"
    label = "localdev"
    verbose_name = "Local stand-ins (development and tests)"

    def ready(self) -> None:
        # WhiteNoise warns about a missing STATIC_ROOT at every start; production fills it
        # with collectstatic, development and tests serve from the finders instead.
        if settings.STATIC_ROOT:
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
