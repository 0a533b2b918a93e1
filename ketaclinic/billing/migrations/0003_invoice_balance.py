"""Each invoice's balance, kept by the database (``InvoiceBalance``) for the aging report and the list of unpaid
invoices: the table, empty, and the triggers that keep it. When an invoice is issued or voided, and when a payment
or refund is written, the invoice's balance is worked out again from the invoice and all its payments and written
(an upsert), in the writer's transaction, whoever the writer is: so the release before, still serving while this
upgrade runs, keeps it too. 0004 gives the invoices issued before this migration theirs.

The SQL is written out here, frozen with the migration (not imported from the app)."""

import django.db.models.deletion
from django.db import migrations, models

#: The balance of the invoice whose id is ``{invoice}`` worked out from it and all its payments, written over any
#: balance it had: a voided invoice owes nothing; a refund of unused package sessions changes nothing.
RECOMPUTE = """
INSERT INTO billing_invoicebalance (invoice_id, clinic_id, issued_at, owed_cents)
SELECT i.id, i.clinic_id, i.issued_at, CASE WHEN i.voided_at IS NOT NULL THEN 0 ELSE i.total_cents - COALESCE((
    SELECT SUM(CASE p.kind WHEN 'payment' THEN p.amount_cents WHEN 'refund' THEN -p.amount_cents ELSE 0 END)
    FROM billing_payment p WHERE p.invoice_id = i.id), 0) END
FROM billing_invoice i WHERE i.id = {invoice}
ON CONFLICT (invoice_id) DO UPDATE SET owed_cents = excluded.owed_cents"""

TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER billing_invoice_balance_issued AFTER INSERT ON billing_invoice BEGIN "
        f"{RECOMPUTE.format(invoice='NEW.id')}; END;",
        f"CREATE TRIGGER billing_invoice_balance_voided AFTER UPDATE OF voided_at ON billing_invoice BEGIN "
        f"{RECOMPUTE.format(invoice='NEW.id')}; END;",
        f"CREATE TRIGGER billing_payment_balance AFTER INSERT ON billing_payment BEGIN "
        f"{RECOMPUTE.format(invoice='NEW.invoice_id')}; END;",
    ],
    "postgresql": [
        f"CREATE OR REPLACE FUNCTION billing_balance_of(invoice bigint) RETURNS void AS $$ BEGIN "
        f"{RECOMPUTE.format(invoice='invoice')}; END; $$ LANGUAGE plpgsql;",
        "CREATE OR REPLACE FUNCTION billing_invoice_balance() RETURNS trigger AS $$ BEGIN "
        "PERFORM billing_balance_of(NEW.id); RETURN NULL; END; $$ LANGUAGE plpgsql;",
        "CREATE OR REPLACE FUNCTION billing_payment_balance() RETURNS trigger AS $$ BEGIN "
        "PERFORM billing_balance_of(NEW.invoice_id); RETURN NULL; END; $$ LANGUAGE plpgsql;",
        "CREATE TRIGGER billing_invoice_balance AFTER INSERT OR UPDATE OF voided_at ON billing_invoice "
        "FOR EACH ROW EXECUTE FUNCTION billing_invoice_balance();",
        "CREATE TRIGGER billing_payment_balance AFTER INSERT ON billing_payment "
        "FOR EACH ROW EXECUTE FUNCTION billing_payment_balance();",
    ],
}
UNDO = {
    "sqlite": ["DROP TRIGGER IF EXISTS billing_invoice_balance_issued;",
               "DROP TRIGGER IF EXISTS billing_invoice_balance_voided;",
               "DROP TRIGGER IF EXISTS billing_payment_balance;"],
    "postgresql": ["DROP TRIGGER IF EXISTS billing_invoice_balance ON billing_invoice;",
                   "DROP TRIGGER IF EXISTS billing_payment_balance ON billing_payment;",
                   "DROP FUNCTION IF EXISTS billing_invoice_balance();",
                   "DROP FUNCTION IF EXISTS billing_payment_balance();",
                   "DROP FUNCTION IF EXISTS billing_balance_of(bigint);"],
}


def install(apps, schema_editor):
    for sql in TRIGGERS.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def remove(apps, schema_editor):
    for sql in UNDO.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0002_estimate_frozen_once_issued"),
        ("clinic", "0002_closed_day"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvoiceBalance",
            fields=[
                ("invoice", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True,
                                                 related_name="balance", serialize=False, to="billing.invoice")),
                ("issued_at", models.DateTimeField()),
                ("owed_cents", models.BigIntegerField()),
                ("clinic", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                             to="clinic.clinic")),
            ],
            options={
                "indexes": [models.Index(condition=models.Q(("owed_cents__gt", 0)), fields=["clinic", "issued_at"],
                                         name="billing_balance_owed")],
            },
        ),
        migrations.RunPython(install, remove),
    ]
