"""Answer streams reach the database through in_tenant; many at once must not take turns
on one thread (fifty streams queued behind each other's retrieval)."""

import asyncio
import time
from typing import Any

from django.db import connection

from tenants.schemas import in_tenant, schema_name_current
from tests.assistant.conftest import Handbook


def _slow_query() -> tuple[str, float, float]:
    """The schema in force, and when the database was busy with this call's query."""
    with connection.cursor() as cursor:
        began = time.monotonic()
        cursor.execute("SELECT pg_sleep(0.6)")
        ended = time.monotonic()
    return schema_name_current(), began, ended


def test_database_work_of_streams_at_once_overlaps(
    handbook: Handbook, committed: None, settings: Any
):
    settings.ASYNC_DATABASE_IN_CALLERS_THREAD = False  # production's pool (committed data)

    async def both() -> list[tuple[str, float, float]]:
        return list(
            await asyncio.gather(
                in_tenant(handbook.organization, _slow_query),
                in_tenant(handbook.organization, _slow_query),
            )
        )

    (first_schema, first_began, first_ended), (second_schema, second_began, second_ended) = (
        asyncio.run(both())
    )

    # Each query ran while the other was running (taking turns, one would begin only after
    # the other ended), however slowly this machine opened the connections.
    assert first_began < second_ended and second_began < first_ended
    assert first_schema == second_schema == handbook.organization.schema_name
