"""pytest plugin (`-p localdev.pytest_plugin` in pyproject's addopts): starts or reuses the
embedded PostgreSQL and Redis before pytest-django reads the test settings, which only read
DATABASE_URL and REDIS_URL from the environment. Processes the tests start (uvicorn, Celery
workers) inherit them."""

import pytest

from localdev.services import ensure_local_services


# tryfirst: pytest-django loads the settings in its own (plain) implementation of this hook.
@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    ensure_local_services()
