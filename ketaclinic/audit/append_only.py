"""Database triggers that refuse UPDATE and DELETE on append-only tables (audit trail, custody ledger).

The application never updates these rows; the triggers make sure nobody else does either, short of a
database superuser disabling them (which the hash chain then exposes)."""

from __future__ import annotations

# Every table protected by these triggers. A new append-only table adds itself here and installs the
# triggers in a migration with ``migration_operations(table)``.
APPEND_ONLY_TABLES: list[str] = ["audit_auditentry", "custody_ledgerentry"]


def install_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
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
