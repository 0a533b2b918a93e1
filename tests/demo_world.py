"""The demo clinic (``manage.py seed_demo``) for a module's tests, seeded once per test process.

Seven modules check the demo clinic, each on a fresh one (its own :func:`tests.conftest.rolled_back_world`).
Seeding it runs the whole journey through the services and took 25-30 s each time, a fifth of the suite. The first
module of a test process to ask for a demo of a given size runs the command; the rows it wrote are then copied
out of the database, byte for byte (SQLite's ``quote()``, PostgreSQL's ``COPY``), before any test has run. Every
later module gets those same rows written again into its own rolled-back transaction: the state the command's
services reached in this process, not one a fixture made up, with every seal, chain hash and ciphertext as the
command wrote it. The command's output and the message attachments it stored (in a folder kept for the process)
come with them.

Only tables the migrations left empty are copied; if the command ever changes a row the migrations wrote, the copy
is refused (and each module seeds its own, as before), so a copy never holds less than the command did; nor is a
copy written over rows the migrations wrote that differ from those it was taken over.
``KETACLINIC_TEST_DEMO_COPY=0`` seeds afresh for every module."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from tests.conftest import rolled_back_world


@dataclass
class _Copy:
    output: str  # what the command printed
    tables: dict[str, bytes | list[str]]  # per table: PostgreSQL COPY text, or SQLite INSERT statements
    before: dict[str, bytes | list[str]]  # the tables the migrations filled, which the command left as they were


_COPIES: dict[int, _Copy | None] = {}  # per number of patients; None: the command changed a row it may not copy
_FOLDERS: dict[int, Path] = {}  # the attachments of each size's demo, kept for the test process


@contextmanager
def demo_world(django_db_blocker, *, patients: int = 12) -> Iterator[str]:
    """The demo clinic with ``patients`` patients inside :func:`rolled_back_world` (the module's tests each run in
    a savepoint on top of it), with its message attachments under ``MESSAGE_ATTACHMENT_DIR`` for as long as the
    block lasts. Yields what ``seed_demo`` printed."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    if patients not in _FOLDERS:
        _FOLDERS[patients] = Path(tempfile.mkdtemp(prefix=f"ketaclinic-test-demo-{patients}-"))
        atexit.register(shutil.rmtree, _FOLDERS[patients], ignore_errors=True)
    folder = _FOLDERS[patients]
    with override_settings(MESSAGE_ATTACHMENT_DIR=folder), rolled_back_world(django_db_blocker):
        from ketaclinic.clinic.models import Clinic

        assert not Clinic.objects.exists(), "the demo clinic is loaded into an empty database"
        copy = _COPIES.get(patients)
        before = _filled_tables(connection)
        if copy is not None and copy_on() and before == copy.before:  # what it refers to is as it was
            _write(connection, copy)
            yield copy.output
            return
        out = StringIO()
        call_command("seed_demo", patients=patients, stdout=out)
        if patients not in _COPIES:
            _COPIES[patients] = _read(connection, before, out.getvalue())
        yield out.getvalue()


def copy_on() -> bool:
    return os.environ.get("KETACLINIC_TEST_DEMO_COPY", "1") != "0"


def _tables(connection) -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _filled_tables(connection) -> dict[str, bytes | list[str]]:
    """The content of every table that holds rows before the command runs (what the migrations wrote)."""
    with connection.cursor() as cursor:
        filled = []
        for table in _tables(connection):
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone():
                filled.append(table)
    return {table: _dump(connection, table) for table in filled}


def _read(connection, before: dict, output: str) -> _Copy | None:
    tables = {}
    for table in _tables(connection):
        dumped = _dump(connection, table)
        if table in before:
            if dumped != before[table]:
                return None  # a row the migrations wrote was changed: copying whole tables would lose that
            continue
        if dumped:
            tables[table] = dumped
    return _Copy(output=output, tables=tables, before=before)


def _dump(connection, table: str) -> bytes | list[str]:
    name = connection.ops.quote_name(table)
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = connection.introspection.get_primary_key_columns(cursor, table) or []
        order = ", ".join(connection.ops.quote_name(c) for c in key) or "1"  # in key order, as SQLite's rowid
        with connection.connection.cursor() as cursor, \
                cursor.copy(f"COPY (SELECT * FROM {name} ORDER BY {order}) TO STDOUT") as copy:
            return b"".join(bytes(block) for block in copy)
    raw = connection.connection  # the driver's own connection: no converters, no parameter formatting
    columns = [row[1] for row in raw.execute(f"PRAGMA table_info({name})")]
    listed = ", ".join(connection.ops.quote_name(c) for c in columns)
    quoted = " || ',' || ".join(f"quote({connection.ops.quote_name(c)})" for c in columns)
    rows = [row[0] for row in raw.execute(f"SELECT {quoted} FROM {name} ORDER BY rowid")]
    # SQLite takes at most 500 rows in one VALUES list (SQLITE_LIMIT_COMPOUND_SELECT's default)
    return [f"INSERT INTO {name} ({listed}) VALUES ({'), ('.join(rows[i:i + 400])})" for i in range(0, len(rows), 400)]


#: Tables the database's own triggers fill as the rows they are worked out from are written (billing's kept
#: balances, billing migration 0003): written last, over what the triggers made of the copied rows.
DERIVED = ("billing_invoicebalance",)


def _write(connection, copy: _Copy) -> None:
    """The copied rows written again, inside the caller's transaction. Foreign keys are checked at commit on both
    engines (Django declares them deferrable), so the order of the tables does not matter, but for the tables the
    database derives (:data:`DERIVED`): those are emptied of what its triggers made and written last, as copied.
    PostgreSQL's sequences are already past these ids (the command drew them in this process, and a rollback does
    not give them back); SQLite's AUTOINCREMENT counter follows the rows inserted."""
    connection.ensure_connection()
    tables = sorted(copy.tables.items(), key=lambda item: item[0] in DERIVED)
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as cursor:
            for table, data in tables:
                if table in DERIVED:
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
                with cursor.copy(f"COPY {connection.ops.quote_name(table)} FROM STDIN") as load:
                    load.write(data)
        return
    raw = connection.connection
    for table, statements in tables:
        if table in DERIVED:
            raw.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        for statement in statements:
            raw.execute(statement)
