"""`migrate_schemas` that migrates only the schemas that are behind, a few at a time, each in
one transaction (the default executor: settings.GET_EXECUTOR_FUNCTION).

django-tenants' standard executor runs Django's `migrate` in every schema, even one with
nothing to apply, and that costs about half a second a schema (loading the graph, rendering
the project state, the post-migrate signal): 562 s at 1,000 organizations with nothing to
do. Here one query per SCHEMAS_PER_QUERY schemas reads every schema's django_migrations
table and compares it with the migrations on disk; only the schemas that lack one of them
are migrated, by a pool of MIGRATE_SCHEMAS_PROCESSES forked processes.

Each schema's migrations run in one transaction, so a schema is either migrated or left
exactly as it was: a failure, Ctrl-C, SIGTERM or a killed process rolls its schema back,
the other schemas go on (or stay as they were), and running the command again picks up the
schemas still behind. The cost is that no tenant migration may need to run outside a
transaction (CREATE INDEX CONCURRENTLY, `atomic = False`); an organization's tables are
small enough not to need it.

A schema behind is migrated the way Django's migrate does it, without what migrate repeats
for every schema although it is the same for all of them (SchemaMigrator): the migration
graph is loaded once per process, and the project state before the plan is rendered once
per process and set of applied migrations, then copied; the post-migrate signal goes to the
apps whose migrations ran. Django's migrate itself runs where that does not hold (a schema
without a migration history, the public schema, a target, squashed or conflicting
migrations, a history Django would refuse, a plan that renames a field).

What differs from Django's migrate, on purpose: the post-migrate signal reaches only the
apps whose migrations ran (and tenants), so an app with nothing to apply does not get its
deleted content types or permissions made again; its receivers get the migration state's
apps as they stand, not re-rendered with the real models (contenttypes and auth read only
model names and Meta.permissions from them); django-tenants' schema_pre_migration and
schema_migrated signals are not sent (nothing here listens to them).
"""

import multiprocessing
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError, OutputWrapper
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor as DjangoMigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations import RenameField
from django.db.migrations.state import ProjectState
from django.db.models.signals import post_migrate, pre_migrate
from django_tenants.migration_executors import get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations
from django_tenants.utils import get_public_schema_name
from psycopg import sql

# Each schema read holds a lock on its django_migrations table (and its index) until the
# statement ends; PostgreSQL's lock table has room for max_locks_per_transaction (64) times
# max_connections (100) by default, so ten thousand schemas are read in several statements.
SCHEMAS_PER_QUERY = 500

SCHEMAS_WITH_HISTORY = """
SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)
"""


def migrations_expected() -> set[tuple[str, str]]:
    """Every migration on disk, as (app, name): what a current schema has recorded.

    Django's migrate records each migration of the plan in the schema it runs in, also the
    ones the tenant router keeps from touching it, so public and organization schemas record
    the same set. A squashed migration counts as itself: a schema that recorded only the
    migrations it replaces is taken as behind and migrated, which records the squash."""
    return set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def schema_names_behind(*, schema_names: list[str], using: str) -> list[str]:
    """The schemas among `schema_names` (in their order) that lack a migration on disk, read
    in one statement per SCHEMAS_PER_QUERY schemas whatever their number."""
    if not schema_names:
        return []
    expected = sorted(migrations_expected())
    apps = [app for app, _ in expected]
    names = [name for _, name in expected]
    current: set[str] = set()
    with connections[using].cursor() as cursor:
        cursor.execute(SCHEMAS_WITH_HISTORY, [schema_names])
        with_history = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(with_history), SCHEMAS_PER_QUERY):
            chunk = with_history[start : start + SCHEMAS_PER_QUERY]
            applied = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {} AS schema_name, app, name FROM {}").format(
                    sql.Literal(schema), sql.Identifier(schema, "django_migrations")
                )
                for schema in chunk
            )
            cursor.execute(
                sql.SQL(
                    "SELECT schema_name FROM ({}) applied"
                    " WHERE (app, name) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
                    " GROUP BY schema_name HAVING count(DISTINCT (app, name)) = %s"
                ).format(applied),
                [apps, names, len(expected)],
            )
            current.update(row[0] for row in cursor.fetchall())
    return [schema for schema in schema_names if schema not in current]


@dataclass(frozen=True)
class SchemaOutcome:
    schema_name: str
    seconds: float
    error: str | None = None


Applied = frozenset[tuple[str, str]]


class SchemaMigrator:
    """Django's migrate in one schema after another, in one process, sharing what is the same
    for every schema: the migration graph, and the project state before a plan (rendering
    it is most of migrate's half second a schema), built once per set of applied migrations
    and copied for each schema, as migrate copies it for its own run."""

    def __init__(self, *, using: str) -> None:
        self.connection: Any = connections[using]  # django-tenants' wrapper: set_schema()
        self.executor = DjangoMigrationExecutor(self.connection)
        self.graph = self.executor.loader.graph
        self.states: dict[Applied, ProjectState] = {}
        self.signalled: set[Migration] = set()
        # Where Django's migrate stops (conflicting leaves) or replays what this one cannot,
        # it runs itself: squashed migrations, whose records differ.
        self.shareable = not (
            self.executor.loader.replacements or self.executor.loader.detect_conflicts()
        )

    def migrate(self, *, schema_name: str, verbosity: int, stdout: OutputWrapper) -> bool:
        """The schema's missing migrations applied, recorded and signalled as migrate would,
        in the caller's transaction; False, with nothing done, where only Django's migrate
        will do (no history in the schema, squashed migrations, an inconsistent history)."""
        if not self.shareable:
            return False
        self.connection.set_schema(schema_name)
        try:
            records = self._applied(schema_name)
            if records is None:
                return False
            applied = frozenset(key for key in records if key in self.graph.nodes)
            if not self._consistent(applied):
                return False
            self.executor.loader.applied_migrations = records
            plan = self.executor.migration_plan(self.graph.leaf_nodes())
            if any(backwards or _renames_fields(migration) for migration, backwards in plan):
                return False
            state = self._state_before(applied, plan).clone()
            content_types = _content_types_forgotten(state)
            for migration, _ in plan:
                if verbosity >= 1:
                    prefix = f"[{BehindSchemasExecutor.codename}:{schema_name}]"
                    stdout.write(f"{prefix}  Applying {migration.app_label}.{migration.name}...")
                state = self.executor.apply_migration(state, migration)
            self._post_migrate(state, plan, verbosity=verbosity)
            content_types()
        finally:
            self.connection.set_schema_to_public()
        return True

    def _applied(self, schema_name: str) -> dict[tuple[str, str], Any] | None:
        """The schema's recorded migrations, as Django's recorder reads them; None when the
        schema has no history table (migrate creates it)."""
        table = sql.Identifier(schema_name, "django_migrations").as_string()
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                return None
        return {(row.app, row.name): row for row in self.executor.recorder.migration_qs}

    def _consistent(self, applied: Applied) -> bool:
        """Django's check_consistent_history: no migration applied before one it needs."""
        return all(
            parent.key in applied for key in applied for parent in self.graph.node_map[key].parents
        )

    def _state_before(self, applied: Applied, plan: list[tuple[Migration, bool]]) -> ProjectState:
        state = self.states.get(applied)
        if state is None:
            state = ProjectState(real_apps=self.executor.loader.unmigrated_apps)
            full_plan = self.executor.migration_plan(self.graph.leaf_nodes(), clean_start=True)
            for migration, _ in full_plan:
                if (migration.app_label, migration.name) in applied:
                    migration.mutate_state(state, preserve=False)
            # migrate's pre-migrate signal: its one receiver (contenttypes) adds operations
            # to the plan's migrations, which this process shares across schemas, so each
            # migration is signalled once.
            unsignalled = [(m, backwards) for m, backwards in plan if m not in self.signalled]
            for app_config in apps.get_app_configs():
                if app_config.models_module is not None:
                    pre_migrate.send(
                        sender=app_config, app_config=app_config, verbosity=0,
                        interactive=False, using=self.connection.alias, apps=state.apps,
                        plan=unsignalled,
                    )  # fmt: skip
            self.signalled.update(migration for migration, _ in unsignalled)
            self.states[applied] = state
        return state

    def _post_migrate(
        self, state: ProjectState, plan: list[tuple[Migration, bool]], *, verbosity: int
    ) -> None:
        """The post-migrate signal for the apps whose migrations ran (their content types and
        permissions; the others' were made when theirs ran) and for this one, whose receiver
        moves new tables' ids onto the schema's sequence (tenants.schema_ids)."""
        # migrate renders the state afresh here (a tenth of a second); the receivers read only
        # ContentType and Permission from it, which the state already holds rendered.
        labels = {migration.app_label for migration, _ in plan} | {"tenants"}
        for app_config in apps.get_app_configs():
            if app_config.label in labels and app_config.models_module is not None:
                post_migrate.send(
                    sender=app_config, app_config=app_config, verbosity=verbosity,
                    interactive=False, using=self.connection.alias, apps=state.apps,
                    plan=plan,
                )  # fmt: skip


def _renames_fields(migration: Migration) -> bool:
    """A RenameField edits the state's field objects in place (ProjectState.rename_field),
    and those are shared with the cached state and the migration's other operations here,
    not fresh per schema as under Django's migrate, which therefore runs such a plan."""
    return any(isinstance(operation, RenameField) for operation in migration.operations)


def _content_types_forgotten(state: ProjectState) -> Callable[[], None]:
    """The state's ContentType manager keeps a cache by database alias, not schema, and its
    class is shared by every copy of a cached state: emptied now and, by the function it
    returns, after the schema's post-migrate, so that no schema reads another's rows."""
    try:
        manager = state.apps.get_model("contenttypes", "ContentType").objects
    except LookupError:
        return lambda: None
    manager.clear_cache()
    return cast(Callable[[], None], manager.clear_cache)


# One SchemaMigrator per process, thread (a connection is a thread's own) and run of the
# command, keyed by the run and made on the first schema: forked workers build their own.
_migrators = threading.local()


def _migrator(run: str, *, using: str) -> SchemaMigrator:
    if getattr(_migrators, "run", None) != run:
        _migrators.migrator = SchemaMigrator(using=using)
        _migrators.run = run
    migrator: SchemaMigrator = _migrators.migrator
    return migrator


def schema_migrate(
    args: tuple[Any, ...], options: dict[str, Any], schema_name: str, run: str = ""
) -> SchemaOutcome:
    """The schema's migrations, all of them in one transaction; a failure is returned, not
    raised, so that the other schemas go on. With a `run` key (a plain run of the command,
    no target), through the run's SchemaMigrator where it can."""
    using = options.get("database") or "default"
    started = time.monotonic()
    try:
        # django-tenants' run_migrations commits and closes the connection when it is not
        # in a transaction; inside this one it leaves both to the atomic block.
        with transaction.atomic(using=using):
            shared = bool(run) and schema_name != get_public_schema_name()
            migrated = shared and _migrator(run, using=using).migrate(
                schema_name=schema_name,
                verbosity=int(options.get("verbosity", 1)),
                stdout=OutputWrapper(sys.stdout),
            )
            if not migrated:
                run_migrations(args, options, BehindSchemasExecutor.codename, schema_name)
    except Exception:
        if not connections[using].in_atomic_block:  # a caller's transaction is its own
            connections[using].close()
        return SchemaOutcome(schema_name, time.monotonic() - started, traceback.format_exc())
    return SchemaOutcome(schema_name, time.monotonic() - started)


class _Interrupted(BaseException):
    """SIGTERM (Cloud Run cancelling the job), raised like Ctrl-C's KeyboardInterrupt, past
    the `except Exception` that records a schema's failure."""


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signal.Signals(signum).name)


def _worker_start() -> None:
    # Ctrl-C reaches the whole process group; only the parent decides what stops, and it
    # stops the workers by terminating them, which rolls back their open transactions.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _schema_migrate_star(job: tuple[tuple[Any, ...], dict[str, Any], str, str]) -> SchemaOutcome:
    return schema_migrate(*job)


class BehindSchemasExecutor(MigrationExecutor):
    """django-tenants' executor extension point (`--executor=behind`, the default here)."""

    codename = "behind"

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        schema_names = list(tenants or [])
        using = self.options.get("database") or self.TENANT_DB_ALIAS
        stdout = OutputWrapper(self.options.get("stdout") or sys.stdout)
        verbose = int(self.options.get("verbosity", 1)) >= 1
        # Targets, pruning and a plan are asked of every schema named, as the stock
        # executors do; only a plain "bring everything up to date" can skip current ones.
        targeted = any(self.options.get(name) for name in ("app_label", "prune", "plan"))
        # Migrations applied for real, all of them: the shared-work path may run.
        plain = not targeted and not any(
            self.options.get(name)
            for name in ("fake", "fake_initial", "run_syncdb", "check_unapplied")
        )
        started = time.monotonic()
        behind = (
            schema_names
            if targeted
            else schema_names_behind(schema_names=schema_names, using=using)
        )
        if verbose:
            stdout.write(
                f"{len(behind)} of {len(schema_names)} schemas behind "
                f"(read in {time.monotonic() - started:.2f} s)"
            )
        if not behind:
            return
        # Checks ran once for the command; Django's migrate would run them again per schema.
        # The command's own streams stay here: workers write to theirs, prefixed per schema.
        options = {**self.options, "skip_checks": True}
        options.pop("stdout", None)
        options.pop("stderr", None)
        processes = min(len(behind), int(getattr(settings, "MIGRATE_SCHEMAS_PROCESSES", 1)))
        if self.PUBLIC_SCHEMA_NAME in behind:
            processes = 1  # organization schemas may need what the public one gets first
        outcomes = self._migrate(
            behind,
            options,
            run=uuid.uuid4().hex if plain else "",
            processes=processes,
            stdout=stdout,
            verbose=verbose,
        )
        failed = [outcome.schema_name for outcome in outcomes if outcome.error]
        if failed:
            raise CommandError(
                f"Migrations failed in {len(failed)} of {len(behind)} schemas, each left as it "
                f"was: {', '.join(failed)}. The others are migrated; run migrate_schemas again "
                "after fixing the cause."
            )

    def _migrate(
        self,
        behind: list[str],
        options: dict[str, Any],
        *,
        run: str,
        processes: int,
        stdout: OutputWrapper,
        verbose: bool,
    ) -> list[SchemaOutcome]:
        outcomes: list[SchemaOutcome] = []
        main_thread = threading.current_thread() is threading.main_thread()
        if main_thread:
            previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupted)
        outcomes_in_turn = self._outcomes(behind, options, run=run, processes=processes)
        try:
            for outcome in outcomes_in_turn:
                outcomes.append(outcome)
                progress = f"[{len(outcomes)}/{len(behind)}] {outcome.schema_name}"
                if outcome.error:
                    stdout.write(f"{progress} FAILED after {outcome.seconds:.1f} s, rolled back")
                    OutputWrapper(sys.stderr).write(f"{outcome.schema_name}: {outcome.error}")
                elif verbose:
                    stdout.write(f"{progress} migrated in {outcome.seconds:.1f} s")
        except (KeyboardInterrupt, _Interrupted) as interruption:
            done = sum(1 for outcome in outcomes if not outcome.error)
            raise CommandError(
                f"Interrupted ({interruption or 'SIGINT'}) after migrating {done} of "
                f"{len(behind)} schemas behind; the ones in progress were rolled back. Run "
                "migrate_schemas again to migrate the rest."
            ) from interruption
        finally:
            outcomes_in_turn.close()  # on an interruption, terminates the workers now
            if main_thread:
                signal.signal(signal.SIGTERM, previous_sigterm)
        return outcomes

    def _outcomes(
        self, behind: list[str], options: dict[str, Any], *, run: str, processes: int
    ) -> Generator[SchemaOutcome, None, None]:
        if processes <= 1:
            for schema_name in behind:
                yield schema_migrate(self.args, options, schema_name, run)
            return
        # Forked workers inherit the loaded apps and settings, not a connection: each opens
        # its own. A process rather than a thread per schema, because the contenttypes cache
        # that the post-migrate signal fills is per process, not per schema.
        connections.close_all()
        pool = multiprocessing.get_context("fork").Pool(processes, initializer=_worker_start)
        try:
            jobs = [(self.args, options, schema_name, run) for schema_name in behind]
            yield from pool.imap_unordered(_schema_migrate_star, jobs)
            pool.close()
        except BaseException:
            # A worker killed mid-schema drops its connection: PostgreSQL rolls it back.
            pool.terminate()
            raise
        finally:
            pool.join()

    def run_multi_type_migrations(self, tenants: Any) -> None:
        raise NotImplementedError("This project has one type of tenant.")


def executor_get(codename: str | None = None) -> type[MigrationExecutor]:
    """settings.GET_EXECUTOR_FUNCTION: this module's executor unless another is named
    (`--executor=standard` is django-tenants' own, one schema after another)."""
    if codename in (None, BehindSchemasExecutor.codename):
        return BehindSchemasExecutor
    return get_executor(codename)
