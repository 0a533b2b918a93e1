"""The balance of every invoice issued before 0003, worked out from its total and payments as 0003's triggers work
it out (a voided invoice owes nothing). INSERT ... SELECT over 10,000 invoices at a time, each batch its own
transaction (the migration is not atomic), reading the invoices and payments and writing only the new table: a
payment on an older invoice, whose trigger writes that invoice's balance too, waits at most for one batch. An
invoice that got its balance from a trigger meanwhile (issued, paid or voided since 0003) keeps it: that one is
newer."""

from django.db import migrations, transaction

SELECT = """
SELECT i.id, i.clinic_id, i.issued_at, CASE WHEN i.voided_at IS NOT NULL THEN 0 ELSE i.total_cents - COALESCE((
    SELECT SUM(CASE p.kind WHEN 'payment' THEN p.amount_cents WHEN 'refund' THEN -p.amount_cents ELSE 0 END)
    FROM billing_payment p WHERE p.invoice_id = i.id), 0) END
FROM billing_invoice i WHERE NOT EXISTS (SELECT 1 FROM billing_invoicebalance b WHERE b.invoice_id = i.id)"""
INSERT = "INSERT INTO billing_invoicebalance (invoice_id, clinic_id, issued_at, owed_cents)"
#: Every invoice without a balance, in one statement (the benches' synthetic networks, loaded with triggers off).
BACKFILL = f"{INSERT} {SELECT} ON CONFLICT (invoice_id) DO NOTHING"
BATCH = 10_000


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cur:
        cur.execute("SELECT MIN(id), MAX(id) FROM billing_invoice")
        low, high = cur.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BATCH):
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            cur.execute(f"{INSERT} {SELECT} AND i.id >= %s AND i.id < %s ON CONFLICT (invoice_id) DO NOTHING",
                        [start, start + BATCH])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("billing", "0003_invoice_balance")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
