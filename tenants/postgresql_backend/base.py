"""django-tenants' PostgreSQL backend with the schema set per transaction, never per session.

django-tenants puts an organization's schema in force with a session-level `SET search_path`,
sent once per connection and tenant (TENANT_LIMIT_SET_CALLS). Behind a pooler in transaction
mode (PgBouncer, Cloud SQL's managed pooling) each transaction may run on another server
connection, so a session-level setting stays behind on the server for whichever client is
given it next, and that client's rows are read from, or written into, another organization's
schema (django-tenants issues #447, #545, #1112).

Here every transaction carries its own schema: `set_config('search_path', ..., true)` is the
`SET LOCAL` form, undone when the transaction ends, so no server connection keeps a schema
between transactions and none is ever trusted to have one.

- Inside a transaction (an atomic block), the first statement sends it, and a later one
  again only when the tenant in force changed or a savepoint holding it was rolled back.
- In autocommit, each statement is a transaction of its own: it is sent in the same query
  string, ahead of the statement (`SELECT set_config(...); <statement>`), which PostgreSQL
  runs as one implicit transaction on one server connection; the cursor then moves to the
  statement's own result. No extra round trip.
- `executemany` in autocommit is wrapped in a transaction; server-side (named) cursors are
  used only inside a transaction (outside one Django would declare a WITH HOLD cursor that
  later fetches could look for on another server connection), otherwise a plain cursor.

It is one execute wrapper (Django's documented hook for wrapping every statement) that the
connection installs on itself; django-tenants' session-level SET is turned off.
"""

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import quote_schema_name
from psycopg.pq import TransactionStatus
from psycopg.sql import Composable

# Statements that must come first in their transaction, or that cannot run in one; they are
# sent as they are (none of them reads a table through the search path).
ON_THEIR_OWN = re.compile(
    r"\s*(SET\s+TRANSACTION|SET\s+SESSION\s+CHARACTERISTICS|BEGIN|START\s+TRANSACTION|COMMIT"
    r"|ROLLBACK|END|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION|VACUUM|ANALYZE"
    r"|(CREATE|DROP|ALTER)\s+DATABASE|ALTER\s+SYSTEM|CHECKPOINT"
    r"|(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|REINDEX)\b",
    re.IGNORECASE,
)
SAVEPOINT_ROLLBACK = re.compile(r"\s*ROLLBACK\s+TO\b", re.IGNORECASE)

Execute = Callable[[str, Any, bool, dict[str, Any]], Any]


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.settings_dict["OPTIONS"].get("server_side_binding"):
            # Server-side binding sends statements one at a time (the extended protocol):
            # the search path could not travel in the statement's own query string.
            raise ImproperlyConfigured(
                "tenants.postgresql_backend needs client-side binding: remove "
                "OPTIONS['server_side_binding']."
            )
        # The search path the current transaction has set, while it lasts.
        self.search_path_in_transaction: str | None = None
        # Outermost: statements of wrappers installed later (tests' query counters) are the
        # application's own, without the search path in front.
        self.execute_wrappers.insert(0, self._search_path_per_transaction)

    def _handle_search_path(self, cursor: Any = None) -> None:
        """django-tenants' session-level `SET search_path`: never sent (see the module)."""

    def close(self) -> None:
        self.search_path_in_transaction = None
        super().close()

    def chunked_cursor(self) -> Any:
        if self.connection is None or self.connection.autocommit:
            return self.cursor()
        return super().chunked_cursor()

    def search_path_value(self) -> str:
        """The search path for the tenant in force, as `SET search_path` would take it."""
        return ", ".join(quote_schema_name(name) for name in self._get_cursor_search_paths())

    def _search_path_per_transaction(
        self, execute: Execute, sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        raw_cursor = context["cursor"].cursor
        if isinstance(sql, Composable):
            sql = sql.as_string(raw_cursor)  # psycopg.sql, composed with quoted names
        if self.connection.info.transaction_status != TransactionStatus.INTRANS:
            # Idle: this statement begins a new transaction, or runs alone in autocommit (in
            # error: it fails anyway). Whatever the last transaction set is gone.
            self.search_path_in_transaction = None
        if ON_THEIR_OWN.match(sql):
            result = execute(sql, params, many, context)
            if SAVEPOINT_ROLLBACK.match(sql):
                self.search_path_in_transaction = None  # it undid a set_config made after it
            return result
        path = self.search_path_value()
        if self.connection.autocommit:
            if many or getattr(raw_cursor, "name", None):
                with transaction.atomic(using=self.alias):
                    return self._search_path_per_transaction(execute, sql, params, many, context)
            return self._with_search_path_ahead(execute, sql, params, context, path)
        if self.search_path_in_transaction == path:
            return execute(sql, params, many, context)
        if many or getattr(raw_cursor, "name", None):
            # A named cursor runs its DECLARE alone, executemany its statements one by one.
            with self.connection.cursor() as setter:
                setter.execute(_set_config_sql(path))
            result = execute(sql, params, many, context)
        else:
            result = self._with_search_path_ahead(execute, sql, params, context, path)
        self.search_path_in_transaction = path
        return result

    @staticmethod
    def _with_search_path_ahead(
        execute: Execute, sql: str, params: Any, context: dict[str, Any], path: str
    ) -> Any:
        ahead = _set_config_sql(path) + "; "
        if params is not None:
            ahead = ahead.replace("%", "%%")  # the driver reads placeholders in the whole text
        result = execute(ahead + sql, params, False, context)
        context["cursor"].cursor.nextset()  # to the statement's own result
        return result


def _set_config_sql(path: str) -> str:
    literal = path.replace("'", "''")
    return f"SELECT set_config('search_path', '{literal}', true)"


# Django finds these beside DatabaseWrapper in an ENGINE's base module.
DatabaseError = tenants_base.DatabaseError
IntegrityError = tenants_base.IntegrityError
