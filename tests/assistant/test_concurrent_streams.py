"""Answer streams reach the database through in_tenant; many at once must not take turns
on one thread (fifty streams queued behind each other's retrieval)."""

import asyncio
import time

from django.db import connection

from tenants.schemas import in_tenant, schema_name_current
from tests.assistant.conftest import Handbook


def _slow_query() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.6)")
    return schema_name_current()


def test_database_work_of_streams_at_once_overlaps(handbook: Handbook, committed: None):
    async def both() -> list[str]:
        return list(
            await asyncio.gather(
                in_tenant(handbook.organization, _slow_query),
                in_tenant(handbook.organization, _slow_query),
            )
        )

    started = time.monotonic()
    schemas = asyncio.run(both())

    assert time.monotonic() - started < 1.1
    assert schemas == [handbook.organization.schema_name] * 2
