"""Schema changes a live clinic does not wait for: the migration operations and the lock timeout that let an
upgrade run while nurses keep saving (docs/operations.md, "Upgrading").

On PostgreSQL each statement of a migration locks the table it changes, and every query on that table queues behind
the lock for as long as the statement holds it, or waits for it:

- ``CREATE INDEX`` holds a SHARE lock for the whole build: no row of the table can be written until the index is
  built (seconds to minutes on a table of millions of vitals readings). :class:`AddIndexOnline` builds it with
  ``CREATE INDEX CONCURRENTLY`` instead, which lets writes go on (the migration must say ``atomic = False``;
  PostgreSQL refuses a concurrent build inside a transaction).
- A quick statement (adding a nullable column, dropping an index) still needs its lock for an instant, but it must
  wait for every transaction already reading the table, and every later query waits behind it. ``migrate`` therefore
  runs with PostgreSQL's ``lock_timeout`` (``DB_MIGRATION_LOCK_TIMEOUT``, 5 s by default): a statement that cannot
  have its lock in time gives up, its migration rolls back, and ``migrate`` can simply be run again, instead of the
  clinic standing still behind a long report.

``tests/foundation/test_migrations_take_no_long_lock.py`` reads the SQL of every migration on PostgreSQL and refuses
a statement that would hold a long lock on a table that already has rows.

SQLite has one writer at a time whatever the statement, so these operations are the plain ones there.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.conf import settings
from django.db import DatabaseError, NotSupportedError, connections
from django.db.migrations.operations import AddIndex, RemoveIndex


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _outside_transaction(operation, schema_editor) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(f"{type(operation).__name__} builds its index concurrently, which PostgreSQL cannot "
                                "do inside a transaction: set atomic = False on the migration.")


class _NoLockTimeout:
    """A concurrent build waits for the transactions already running to end; while it waits it blocks no write,
    so ``migrate``'s lock timeout (meant for statements that do block) is off for it."""

    def __init__(self, schema_editor):
        self.connection = schema_editor.connection

    def __enter__(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            self.before = cursor.fetchone()[0]
            cursor.execute("SET lock_timeout = 0")

    def __exit__(self, *exc):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [self.before])


def _running(operation, schema_editor):
    """What a concurrent statement runs in on PostgreSQL: outside a transaction and with no lock timeout; nothing
    elsewhere, or when ``sqlmigrate`` only writes the statement down."""
    if schema_editor.collect_sql or not _postgres(schema_editor):
        return nullcontext()
    _outside_transaction(operation, schema_editor)
    return _NoLockTimeout(schema_editor)


def _exists(schema_editor, model, name: str) -> bool:
    """Whether ``model``'s table has an index ``name`` (any database)."""
    with schema_editor.connection.cursor() as cursor:
        return name in schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)


def _built_already(schema_editor, model, name: str) -> bool:
    """Whether the table has a usable index ``name`` already: the migration applied by an earlier version of
    itself (an index moved out of an earlier migration), or run again after a failure. A concurrent build that
    failed (a lock timeout, a cancelled ``migrate``) leaves its index behind on PostgreSQL, marked invalid: that one
    is dropped, so that running ``migrate`` again builds it afresh."""
    if schema_editor.collect_sql:
        return False
    if not _postgres(schema_editor):
        return _exists(schema_editor, model, name)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s AND i.indrelid = to_regclass(%s)",
                       [name, schema_editor.quote_name(model._meta.db_table)])
        row = cursor.fetchone()
    if row is None:
        return False
    if row[0]:
        return True
    schema_editor.execute(schema_editor.sql_delete_index_concurrently % {"name": schema_editor.quote_name(name)})
    return False


def _add(operation, schema_editor, model, index) -> None:
    """Build ``index`` unless it is built already: concurrently on PostgreSQL, plainly elsewhere."""
    if not operation.allow_migrate_model(schema_editor.connection.alias, model):
        return
    with _running(operation, schema_editor):
        if not _built_already(schema_editor, model, index.name):
            schema_editor.add_index(model, index, **({"concurrently": True} if _postgres(schema_editor) else {}))


def _remove(operation, schema_editor, model, index) -> None:
    """Drop ``index`` where it is (PostgreSQL's concurrent drop says IF EXISTS itself); a run again after a failure
    finds it gone and does nothing."""
    if not operation.allow_migrate_model(schema_editor.connection.alias, model):
        return
    if _postgres(schema_editor):
        with _running(operation, schema_editor):
            schema_editor.remove_index(model, index, concurrently=True)
    elif schema_editor.collect_sql or _exists(schema_editor, model, index.name):
        schema_editor.remove_index(model, index)


class AddIndexOnline(AddIndex):
    """``AddIndex`` that does not stop writes to the table: ``CREATE INDEX CONCURRENTLY`` on PostgreSQL (put it
    in a migration with ``atomic = False``), a plain ``CREATE INDEX`` elsewhere. It may be run again after a failed
    build, and does nothing where the index exists already (on any database)."""

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} without stopping writes"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        _add(self, schema_editor, to_state.apps.get_model(app_label, self.model_name), self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        _remove(self, schema_editor, from_state.apps.get_model(app_label, self.model_name), self.index)


class RemoveIndexOnline(RemoveIndex):
    """``RemoveIndex`` with ``DROP INDEX CONCURRENTLY`` on PostgreSQL (``atomic = False``): dropping waits for the
    queries using the index instead of making every later query on the table wait behind it."""

    def describe(self) -> str:
        return f"Remove index {self.name} from {self.model_name} without stopping writes"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        _remove(self, schema_editor, from_state.apps.get_model(app_label, self.model_name), index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        _add(self, schema_editor, to_state.apps.get_model(app_label, self.model_name), index)


def migration_lock_timeout() -> str:
    """The ``lock_timeout`` ``migrate`` runs with, as PostgreSQL reads it (``'5s'``; ``'0'`` waits for ever)."""
    seconds = settings.MIGRATION_LOCK_TIMEOUT_SECONDS
    return f"{seconds}s" if seconds else "0"


def set_lock_timeout(using: str = "default") -> None:
    """Each statement of the migrations about to run waits at most the configured time for its lock (PostgreSQL;
    SQLite's busy timeout already bounds a wait): the project's ``migrate`` calls it before it migrates."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [migration_lock_timeout()])


def reset_lock_timeout(using: str = "default") -> None:
    """The connection waits for locks as configured again: the project's ``migrate`` calls it when it ends, however
    it ends (a migration given up on its lock timeout included), for a process that goes on (a test run,
    ``call_command``). A connection that broke is left as it is: the error that broke it is the one to see."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    except DatabaseError:
        pass  # a broken connection: what broke it is the error ``migrate`` shows
