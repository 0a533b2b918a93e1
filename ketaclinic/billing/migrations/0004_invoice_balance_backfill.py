"""The balance of every invoice issued before 0003, worked out from its total and payments as 0003's triggers work
it out (a voided invoice owes nothing). One INSERT ... SELECT that reads the invoices and payments and writes only
the new table, in its own migration so that no lock 0003 took on the invoices is held while it runs. An invoice
that got its balance from a trigger meanwhile (issued, paid or voided since 0003) keeps it: that one is newer."""

from django.db import migrations

BACKFILL = """
INSERT INTO billing_invoicebalance (invoice_id, clinic_id, issued_at, owed_cents)
SELECT i.id, i.clinic_id, i.issued_at, CASE WHEN i.voided_at IS NOT NULL THEN 0 ELSE i.total_cents - COALESCE((
    SELECT SUM(CASE p.kind WHEN 'payment' THEN p.amount_cents WHEN 'refund' THEN -p.amount_cents ELSE 0 END)
    FROM billing_payment p WHERE p.invoice_id = i.id), 0) END
FROM billing_invoice i WHERE NOT EXISTS (SELECT 1 FROM billing_invoicebalance b WHERE b.invoice_id = i.id)
ON CONFLICT (invoice_id) DO NOTHING"""


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):

    dependencies = [("billing", "0003_invoice_balance")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
