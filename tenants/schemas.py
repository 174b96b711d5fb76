"""Typed access to the schema django-tenants has put in force on the connection."""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django_tenants.utils import get_public_schema_name, tenant_context

T = TypeVar("T")


def schema_name_current() -> str:
    return str(connection.schema_name)  # type: ignore[attr-defined]


def tenant_current() -> Any:
    """The tenant (an Organization, or a FakeTenant for a bare schema name) in force."""
    return connection.tenant  # type: ignore[attr-defined]


def schema_public_activate() -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def schema_is_public() -> bool:
    return schema_name_current() == get_public_schema_name()


# True while a synchronous caller (a WSGI-style view draining an answer with async_to_sync)
# awaits: its work then runs on the caller's own thread and connection, so it sees what the
# caller wrote in a transaction still open, as a thread of the pool would not.
IN_CALLERS_THREAD: ContextVar[bool] = ContextVar("in_callers_thread", default=False)


async def in_tenant(tenant: Any, function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run blocking ORM work from async code with `tenant`'s schema in force.

    Async views reach the database through worker threads, and a thread's connection keeps
    whatever schema its last user set; so each call sets the schema itself rather than
    trusting the thread it lands on, and every call after an await is as safe as the first.

    Not thread-sensitive: the default would queue every stream's retrieval, embedding and
    saves, and every synchronous page, on the one thread Django keeps for sync code, so
    fifty answers at once took turns. The pool's threads keep their connections open; one
    that failed is closed, so the thread's next call connects afresh.
    """

    same_thread = IN_CALLERS_THREAD.get() or settings.ASYNC_DATABASE_IN_CALLERS_THREAD
    return await sync_to_async(on_pool_thread, thread_sensitive=same_thread)(
        tenant, function, **kwargs
    )


def on_pool_thread(tenant: Any, function: Callable[..., T], /, **kwargs: Any) -> T:
    """`function` on a pooled thread's connection with `tenant`'s schema in force (the
    thread's last user may have left another). A connection that failed is closed, so the
    thread's next call connects afresh."""
    try:
        with tenant_context(tenant):
            return function(**kwargs)
    except DatabaseError:
        if not connection.in_atomic_block:
            connection.close()
        raise


def run_outside_server(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` (the answer path, say) to its end from synchronous code that is no
    long-lived server: a management command, a Celery task, an integration's worker.

    `in_tenant` runs each database step on a thread of the event loop's pool, and each thread
    opens a connection of its own. A server keeps one loop and one pool, so those connections
    are few and reused; `asyncio.run` per call makes a pool per call, whose threads end with
    it, and a connection left in a thread that ended stays a PostgreSQL backend until the
    garbage collector happens upon it (about two per answered question: "too many clients
    already"). Here the pool's threads keep their connections while the coroutine runs, and
    those connections are closed once the threads are done."""
    opened: list[BaseDatabaseWrapper] = []

    def thread_started() -> None:
        # The thread's own connection objects, made now (they connect on first use) so that
        # they can be closed after the thread has ended.
        opened.extend(connections.all())

    pool = ThreadPoolExecutor(thread_name_prefix="outside-server", initializer=thread_started)
    try:
        with asyncio.Runner() as runner:
            runner.get_loop().set_default_executor(pool)
            return runner.run(coroutine)
    finally:
        pool.shutdown(wait=True)  # the runner has shut it down already, unless it failed
        for wrapper in opened:
            wrapper.inc_thread_sharing()  # its thread has ended: closing it here is safe
            wrapper.close()
