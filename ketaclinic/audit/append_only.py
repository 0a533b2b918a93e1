"""Database triggers that refuse UPDATE and DELETE on append-only tables (audit trail, custody ledger, and a
treatment session's own records: vitals, dosing events, adverse events, ratings, observations, addenda and the
prescriber's pre-dose overrides).

The application never updates these rows; the triggers make sure nobody else does either, short of a
database superuser disabling them (which the hash chain then exposes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# Every table protected by these triggers. A new append-only table adds itself here and installs the
# triggers in a migration with ``migration_operations(table)``.
APPEND_ONLY_TABLES: list[str] = [
    "audit_auditentry", "custody_ledgerentry",
    # the index of the seals of signed records (seals.py)
    "audit_recordseal",
    # a treatment session's own records (issue 10 point 10): corrected by a new row or an addendum, never edited
    "treatments_vitalsreading", "treatments_sessionevent", "treatments_adverseevent", "treatments_sessionrating",
    "treatments_observation", "treatments_addendum", "treatments_predoseoverride", "treatments_alertacknowledgement",
    # a patient's signature of a consent version
    "treatments_consentsignature",
    # an order's titration plan and a prescriber's signed dose for a session (issue 21)
    "treatments_titrationplan", "treatments_dosedecision",
    # billing (issue 13): price versions, invoice lines, payments and refunds, estimate lines; and invoices, which
    # may change once, when voided (SET_ONCE below)
    "billing_priceversion", "billing_invoiceline", "billing_payment", "billing_estimateline", "billing_invoice",
    # break-glass chart access and its compliance review (issue 17)
    "patients_breakglassaccess", "patients_breakglassreview",
    # a patient's research consent decisions (issue 15): a new decision is a new row
    "reports_researchconsent",
]

#: Tables where one column may be written once after the row is added (NULL -> a value) and nothing else may
#: change: an adverse event's resolution time. table -> (the set-once column, every other column). A test checks
#: the column list against the model, so a new column cannot slip past the trigger.
SET_ONCE: dict[str, tuple[str, tuple[str, ...]]] = {
    "treatments_adverseevent": ("resolved_at", ("id", "session_id", "kind", "severity", "onset_at", "description",
                                                "action_taken", "rescue_medication", "recorded_by_id")),
    # an invoice is voided once (who and why are written with it); nothing else about it ever changes
    "billing_invoice": ("voided_at", ("id", "external_id", "clinic_id", "patient_id", "number", "kind", "issued_at",
                                      "issued_by_id", "service_on", "treatment_session_id", "appointment_id",
                                      "integration_session_id", "package_id", "estimate_id", "rendering_provider_id",
                                      "diagnoses", "total_cents")),
}


def _set_once_condition(table: str, same: str) -> str:
    column, others = SET_ONCE[table]
    unchanged = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in others)
    return f"OLD.{column} IS NULL AND NEW.{column} IS NOT NULL AND {unchanged}"


def install_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        when = f"WHEN NOT ({_set_once_condition(table, 'IS')}) " if table in SET_ONCE else ""
        # Replaced, not kept if present, so a changed SET_ONCE column list takes effect (as on PostgreSQL).
        return [*remove_sql(vendor, table),
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {when}"
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"]
    if vendor == "postgresql" and table in SET_ONCE:
        return [
            f"CREATE OR REPLACE FUNCTION {table}_set_once() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND {_set_once_condition(table, 'IS NOT DISTINCT FROM')} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END; $$ LANGUAGE plpgsql;",
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_set_once();",
        ]
    if vendor == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION ketaclinic_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END; $$ LANGUAGE plpgsql;",
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ketaclinic_refuse_change();",
        ]
    return []


def remove_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"]
    return []


@contextmanager
def lifted(connection, *tables: str) -> Iterator[None]:
    """The triggers of ``tables`` taken off for the block and put back after it, on ``connection`` (which must own
    the tables on PostgreSQL). For the rare rewrite the application itself makes (re-encrypting notes under a new
    key) and for tests that play someone with write access to the database."""
    with connection.cursor() as cur:
        for table in tables:
            for sql in remove_sql(connection.vendor, table):
                cur.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cur:
            for table in tables:
                for sql in install_sql(connection.vendor, table):
                    cur.execute(sql)


def migration_operations(table: str):
    """RunPython operations for a migration that installs the triggers on ``table``."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for sql in install_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql)

    def backwards(apps, schema_editor):
        for sql in remove_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql)

    return [migrations.RunPython(forwards, backwards)]
