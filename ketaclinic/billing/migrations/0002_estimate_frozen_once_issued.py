"""An issued Good Faith Estimate never changes (its total, diagnoses, lines, issue time, status): a trigger refuses
any UPDATE or DELETE of a row whose ``issued_at`` is set. The row may change while it is still due (issued once,
or withdrawn before it was given). Not the shared SET_ONCE shape of ketaclinic/audit/append_only.py: that allows
exactly one update (the set-once column written) and would also refuse withdrawing an estimate still due."""

from django.db import migrations

TABLE = "billing_estimate"
MESSAGE = "an issued estimate cannot change"


def _sql(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_issued_no_update;",
                f"DROP TRIGGER IF EXISTS {TABLE}_issued_no_delete;",
                f"CREATE TRIGGER {TABLE}_issued_no_update BEFORE UPDATE ON {TABLE} WHEN OLD.issued_at IS NOT NULL "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
                f"CREATE TRIGGER {TABLE}_issued_no_delete BEFORE DELETE ON {TABLE} WHEN OLD.issued_at IS NOT NULL "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"]
    if vendor == "postgresql":
        return [f"CREATE OR REPLACE FUNCTION {TABLE}_issued_frozen() RETURNS trigger AS $$ BEGIN "
                f"IF OLD.issued_at IS NULL THEN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END IF; "
                f"RAISE EXCEPTION USING MESSAGE = '{MESSAGE}'; END; $$ LANGUAGE plpgsql;",
                f"DROP TRIGGER IF EXISTS {TABLE}_issued_frozen ON {TABLE};",
                f"CREATE TRIGGER {TABLE}_issued_frozen BEFORE UPDATE OR DELETE ON {TABLE} "
                f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_issued_frozen();"]
    return []


def _undo(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_issued_no_update;", f"DROP TRIGGER IF EXISTS {TABLE}_issued_no_delete;"]
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_issued_frozen ON {TABLE};"]
    return []


def forwards(apps, schema_editor):
    for statement in _sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    for statement in _undo(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_prices_invoices_payments")]

    operations = [migrations.RunPython(forwards, backwards)]
