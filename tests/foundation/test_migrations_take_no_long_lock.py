"""An upgrade runs while the clinic works: no migration holds a long lock on a table that already has rows.

Every migration's SQL is read as PostgreSQL would run it (``sqlmigrate``). A statement that changes a table made
earlier in the same migration is free (the table is empty); on any other table these statements are refused:

- ``CREATE INDEX`` without ``CONCURRENTLY``: no row of the table can be written until the index is built
  (ketaclinic.migrationops.AddIndexOnline builds it concurrently);
- a CHECK or FOREIGN KEY constraint, or a column with a reference, added without ``NOT VALID``: every row is read
  while the table is locked;
- a UNIQUE or PRIMARY KEY constraint added to the table: its index is built while the table is locked;
- a column added with a UNIQUE or CHECK constraint, an expression default or a generated expression;
- ``ALTER COLUMN ... TYPE`` (the table is rewritten) and ``SET NOT NULL`` (every row is read) under an exclusive lock.

A table whose rows are bounded by the clinic's staff, not its patients (:data:`SMALL_TABLES`), takes these
statements in a moment at any clinic's size, and is named with why.

Python in a migration cannot be read as SQL: each migration that runs Python says here what it does.
The migrations released before the rule are named with what their statements cost; a new one must pass.
``migrate`` itself waits at most ``DB_MIGRATION_LOCK_TIMEOUT`` seconds for a lock (tested below).
"""

from __future__ import annotations

import io
import re

import psycopg
import pytest
from django.core.management import call_command
from django.db import IntegrityError, NotSupportedError, OperationalError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import pre_migrate
from django.test import override_settings

from ketaclinic import migrationops

pytestmark = pytest.mark.django_db
#: The locks are PostgreSQL's (SQLite has one writer at a time whatever the statement).
postgres_only = pytest.mark.postgres_only

RULES = [
    ("an index built while writes wait", re.compile(r'^CREATE (?:UNIQUE )?INDEX (?!CONCURRENTLY)"?\w+"? ON "(?P<t>\w+)"')),
    ("a constraint checked on every row while the table is locked",
     re.compile(r'^ALTER TABLE "(?P<t>\w+)" ADD CONSTRAINT "\w+" (?:CHECK|FOREIGN KEY)(?!.*NOT VALID)')),
    ("a unique index built while the table is locked",
     re.compile(r'^ALTER TABLE "(?P<t>\w+)" ADD CONSTRAINT "\w+" (?:UNIQUE|PRIMARY KEY|EXCLUDE)')),
    ("a column with a reference checked on every row while the table is locked",
     re.compile(r'^ALTER TABLE "(?P<t>\w+)" ADD COLUMN (?!.*NOT VALID).* REFERENCES')),
    ("a column whose constraint, default or expression reads or rewrites every row under lock",
     re.compile(r'^ALTER TABLE "(?P<t>\w+)" ADD COLUMN .*(?: UNIQUE| PRIMARY KEY| CHECK \(| GENERATED ALWAYS| DEFAULT \()')),
    ("the table rewritten under an exclusive lock", re.compile(r'^ALTER TABLE "(?P<t>\w+)" ALTER COLUMN "\w+" TYPE')),
    ("every row read under an exclusive lock", re.compile(r'^ALTER TABLE "(?P<t>\w+)" ALTER COLUMN "\w+" SET NOT NULL')),
]

_TRIGGERS = "installs the append-only triggers (CREATE TRIGGER: a moment's lock, no row read)"
_ENCRYPTS = ("encrypts the notes already stored, row by row: each row is locked while it is rewritten, the table "
             "is not")

#: Each migration that runs Python, and what the Python does.
RUNS_PYTHON = {
    "accounts.0005_role_grants_at_the_clinic": ("gives each role granted before grants named a clinic the "
                                                "install's clinic (a row per staff role)"),
    "audit.0002_append_only_triggers": _TRIGGERS,
    "custody.0003_loss_reports_at_their_clinic": ("gives each loss report recorded before reports named a clinic "
                                                  "the clinic of its lost container's store (a row per loss)"),
    "measures.0004_on_call_at_the_clinic": ("gives the on-call days set before rosters named a clinic the install's "
                                            "clinic (a row per day)"),
    "audit.0003_record_seals": _TRIGGERS,
    "billing.0001_prices_invoices_payments": _TRIGGERS,
    "billing.0002_estimate_frozen_once_issued": "installs a trigger refusing changes to issued estimates",
    "billing.0003_invoice_balance": ("installs the triggers that keep each invoice's balance (CREATE TRIGGER: a "
                                     "moment's lock, no row read; the table is new and empty)"),
    "billing.0004_invoice_balance_backfill": ("gives every invoice issued before 0003 its balance (INSERT ... "
                                              "SELECT, 10,000 invoices a transaction: reads invoices and "
                                              "payments, writes only the new table)"),
    "custody.0001_create_ledger": _TRIGGERS,
    "integration.0002_therapist_notes_encrypted": _ENCRYPTS,
    "patients.0003_care_team_and_break_glass": _TRIGGERS,
    "reports.0001_research_consent_and_jobs": _TRIGGERS,
    "scheduling.0002_default_types": "adds the default appointment types (a few rows)",
    "screening.0003_clinical_notes_encrypted": _ENCRYPTS,
    "treatments.0005_session_records_append_only": _TRIGGERS,
    "treatments.0006_consent_documents": _TRIGGERS,
    "treatments.0007_alert_acknowledgements": _TRIGGERS,
    "treatments.0008_titration": _TRIGGERS,
    "treatments.0009_clinical_notes_encrypted": _ENCRYPTS,
}

_NEW_REFERENCES = ("adds nullable references to people and records: one read of the table to check the new column "
                   "(NULL in every row) and one to index it, each under lock")

#: Released before the rule. An install that upgrades across one of these on a large database waits for what it
#: says; every migration after them passes the rule.
#: Tables of a row per staff member's grant or setting, not per patient or record: a lock on them lasts a moment.
SMALL_TABLES = {
    "accounts_rolegrant": "a row per role a staff member holds at a clinic (tens of rows)",
    "measures_oncall": "a row per day a prescriber is on call at a clinic (hundreds of rows a year)",
    "custody_lossreport": "a row per theft or significant loss of controlled substances reported (a few a year)",
}

BEFORE_THE_RULE = {
    "treatments.0002_session_cockpit": _NEW_REFERENCES + " (sessions, orders)",
    "treatments.0004_safety_guards": _NEW_REFERENCES + " (sessions, session events)",
    "treatments.0006_consent_documents": _NEW_REFERENCES + " (sessions)",
    "screening.0002_retraction_baseline_administration": _NEW_REFERENCES + " (eligibility assessments, baselines)",
    "measures.0002_safety_task_origin": "checks the new reference of every safety task to its administration",
    "scheduling.0003_portal_self_booking": "adds checked whole-number settings to the clinic's hours (a row a clinic)",
}


def _sql_of_every_migration() -> dict[str, str]:
    loader = MigrationLoader(connection)
    out = {}
    for app, name in sorted(loader.disk_migrations):
        if not loader.disk_migrations[app, name].__module__.startswith("ketaclinic."):
            continue
        text = io.StringIO()
        call_command("sqlmigrate", app, name, stdout=text)
        out[f"{app}.{name}"] = text.getvalue()
    return out


def findings(sql: str) -> list[str]:
    """The statements of one migration's SQL (``sqlmigrate``'s output) that would hold a long lock on a table
    that already has rows, each as "rule: statement"."""
    created: set[str] = set()
    found = []
    for line in sql.splitlines():
        if not line or line.startswith("--") or line in ("BEGIN;", "COMMIT;"):
            continue
        for statement in (s.strip() for s in line.split("; ")):
            made = re.match(r'^CREATE TABLE "(\w+)"', statement)
            if made:
                created.add(made.group(1))
                continue
            for rule, pattern in RULES:
                hit = pattern.match(statement)
                if hit and hit.group("t") not in created and hit.group("t") not in SMALL_TABLES:
                    found.append(f"{rule}: {statement[:160]}")
    return found


@pytest.fixture(scope="module")
def every_migration(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        pytest.skip("the SQL is PostgreSQL's")
    with django_db_blocker.unblock():
        return _sql_of_every_migration()


@postgres_only
def test_no_migration_after_the_rule_holds_a_long_lock(every_migration):
    refused = {name: found for name, sql in every_migration.items()
               if (found := findings(sql)) and name not in BEFORE_THE_RULE}
    assert refused == {}, ("these statements would stop the clinic while they run on a large table: build indexes "
                           "with ketaclinic.migrationops.AddIndexOnline; add a CHECK with django.contrib.postgres's "
                           "AddConstraintNotValid, then ValidateConstraint; add a column without its constraint and "
                           f"constrain it in a second step (docs/operations.md): {refused}")


@postgres_only
def test_the_migrations_before_the_rule_are_named_for_what_they_do(every_migration):
    # the list cannot rot: each name still holds such a statement (and the rule still finds them)
    assert {name for name in BEFORE_THE_RULE if findings(every_migration[name])} == set(BEFORE_THE_RULE)


@postgres_only
def test_every_migration_that_runs_python_says_what_it_does(every_migration):
    runs_python = {name for name, sql in every_migration.items() if "Raw Python operation" in sql}
    assert runs_python == set(RUNS_PYTHON)
    assert not any("Raw SQL operation" in sql for sql in every_migration.values())


@postgres_only
def test_the_indexes_for_reports_and_search_are_built_without_stopping_writes(every_migration):
    for name in ("treatments.0010_reports_indexes", "fhir.0006_stored_pdf_waiting_index",
                 "patients.0002_index_search_keys_by_clinic"):
        sql = every_migration[name]
        assert "CREATE INDEX CONCURRENTLY" in sql and "BEGIN;" not in sql, name


def test_the_rule_finds_what_it_names():
    sql = "\n".join([
        'CREATE TABLE "new_t" ("id" bigint NOT NULL PRIMARY KEY);',
        'CREATE INDEX "new_t_x" ON "new_t" ("id");',  # a table made here: free
        'CREATE INDEX "old_t_x" ON "old_t" ("x");',
        'CREATE INDEX CONCURRENTLY "old_t_y" ON "old_t" ("y");',
        'ALTER TABLE "old_t" ADD CONSTRAINT "c" CHECK ("x" > 0);',
        'ALTER TABLE "old_t" ADD CONSTRAINT "c2" CHECK ("x" > 0) NOT VALID;',
        'ALTER TABLE "old_t" ADD CONSTRAINT "u" UNIQUE ("x");',
        'ALTER TABLE "old_t" ADD COLUMN "p_id" bigint NULL CONSTRAINT "f" REFERENCES "p"("id");',
        'ALTER TABLE "old_t" ADD COLUMN "n" integer NULL;',
        'ALTER TABLE "old_t" ALTER COLUMN "x" TYPE bigint;',
        'ALTER TABLE "old_t" ALTER COLUMN "x" SET NOT NULL;',
        'ALTER TABLE "old_t" ALTER COLUMN "x" DROP NOT NULL;',
    ])
    assert [f.split(":")[0] for f in findings(sql)] == [
        "an index built while writes wait", "a constraint checked on every row while the table is locked",
        "a unique index built while the table is locked",
        "a column with a reference checked on every row while the table is locked",
        "the table rewritten under an exclusive lock", "every row read under an exclusive lock"]


@postgres_only
def test_migrate_waits_for_a_lock_only_as_long_as_the_clinic_allows():
    seen = []
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        before = cursor.fetchone()[0]

    def during(sender, using="default", **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            seen.append(cursor.fetchone()[0])

    with override_settings(MIGRATION_LOCK_TIMEOUT_SECONDS=7):
        pre_migrate.connect(during, dispatch_uid="test-lock-timeout")
        try:
            call_command("migrate", verbosity=0)
        finally:
            pre_migrate.disconnect(dispatch_uid="test-lock-timeout")
    assert seen and set(seen) == {"7s"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == before  # the connection waits as configured again afterwards


@postgres_only
def test_a_statement_behind_a_long_read_gives_up_instead_of_queueing_the_clinic():
    # A report reads the vitals table in a long transaction; a migration's ALTER needs the table for an instant.
    # Without a lock timeout it would wait for the report, and every nurse's save would wait behind it.
    settings_dict = connection.settings_dict
    other = psycopg.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"],
                            password=settings_dict["PASSWORD"] or None, host=settings_dict["HOST"] or None,
                            port=settings_dict["PORT"] or None)
    try:
        other.execute("SELECT count(*) FROM treatments_vitalsreading")  # the report's transaction stays open
        with override_settings(MIGRATION_LOCK_TIMEOUT_SECONDS=1), connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '30s'")  # only so that a broken rule fails instead of hanging
            migrationops.set_lock_timeout(using="default")
            try:
                with pytest.raises(OperationalError) as refused, transaction.atomic():
                    cursor.execute('ALTER TABLE "treatments_vitalsreading" ADD COLUMN "probe" integer NULL')
            finally:
                migrationops.reset_lock_timeout("default")
                cursor.execute("RESET statement_timeout")
            cursor.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'probe'")
            assert cursor.fetchone()[0] == 0
        assert refused.value.__cause__.sqlstate == "55P03"  # lock_not_available: the lock timeout, not the safety net
    finally:
        other.close()


def _probe(table: str, index: str):
    """A model of its own (table ``table``: an id and a level), never in the app's migrations, and the online
    operation that indexes its level: (the state without the index, the operation, the state with it)."""
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    state.add_model(ModelState("probe", "Row", [("id", models.BigAutoField(primary_key=True)),
                                                ("level", models.IntegerField())], options={"db_table": table}))
    op = migrationops.AddIndexOnline("row", models.Index(fields=["level"], name=index))
    built = state.clone()
    op.state_forwards("probe", built)
    return state, op, built


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_index_build_cut_short_is_built_again_and_one_built_already_is_left():
    state, op, built = _probe("migration_probe_row", "migration_probe_level")

    def index() -> tuple[int, bool, str] | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT i.indexrelid::int, i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                           "WHERE i.indexrelid = to_regclass('migration_probe_level')")
            return cursor.fetchone()

    with connection.schema_editor(atomic=False) as editor:
        editor.create_model(state.apps.get_model("probe", "Row"))
    with connection.cursor() as cursor:  # a concurrent build waits for every open transaction: never for ever here
        cursor.execute("SET statement_timeout = '60s'")
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO migration_probe_row (level) VALUES (2), (2)")
            # a concurrent build that fails (here on the duplicates) leaves its index behind, invalid
            with pytest.raises(IntegrityError):
                cursor.execute("CREATE UNIQUE INDEX CONCURRENTLY migration_probe_level ON migration_probe_row (level)")
        assert index()[1] is False
        with connection.schema_editor(atomic=False) as editor:
            op.database_forwards("probe", editor, state, built)
        oid, valid, definition = index()
        assert valid and "UNIQUE" not in definition and "(level)" in definition
        with connection.schema_editor(atomic=False) as editor:  # migrate run again: nothing to do
            op.database_forwards("probe", editor, state, built)
        assert index() == (oid, True, definition)
        with pytest.raises(NotSupportedError), transaction.atomic(), connection.schema_editor() as editor:
            op.database_forwards("probe", editor, state, built)  # never inside a transaction
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS migration_probe_row")
            cursor.execute("RESET statement_timeout")


@pytest.mark.django_db(transaction=True)
def test_index_operations_run_again_after_a_failure_change_nothing():
    # a migration with atomic = False that failed half-way is run again from its first operation: each index
    # operation must find its work done and do nothing (on SQLite as on PostgreSQL)
    state, add, with_index = _probe("migration_probe_again", "migration_probe_again_level")
    remove = migrationops.RemoveIndexOnline("row", "migration_probe_again_level")
    without = with_index.clone()
    remove.state_forwards("probe", without)

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return {name for name, c in connection.introspection.get_constraints(cursor, "migration_probe_again").items()
                    if c["index"] and not c["primary_key"]}

    with connection.schema_editor(atomic=False) as editor:
        editor.create_model(state.apps.get_model("probe", "Row"))
    built = {"migration_probe_again_level"}
    steps = [(add.database_forwards, state, with_index, built), (remove.database_forwards, with_index, without, set()),
             (remove.database_backwards, without, with_index, built),  # and back: the removal undone
             (add.database_backwards, with_index, state, set())]
    try:
        for run, before, after, expected in steps:
            for _ in range(2):  # each step twice: the second finds its work done
                with connection.schema_editor(atomic=False) as editor:
                    run("probe", editor, before, after)
                assert indexes() == expected
    finally:
        with connection.schema_editor(atomic=False) as editor:
            editor.delete_model(state.apps.get_model("probe", "Row"))
