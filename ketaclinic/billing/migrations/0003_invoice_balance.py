"""Each invoice's balance kept (``InvoiceBalance``), for the aging report and the list of unpaid invoices: made for
every invoice already issued from its total and payments (a voided one owes 0), as the use cases keep it from now
on. One INSERT ... SELECT, reading the invoices and payments (no lock that stops the clinic writing)."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
INSERT INTO billing_invoicebalance (invoice_id, clinic_id, issued_at, owed_cents)
SELECT i.id, i.clinic_id, i.issued_at,
       CASE WHEN i.voided_at IS NOT NULL THEN 0 ELSE i.total_cents - COALESCE(p.net, 0) END
FROM billing_invoice i LEFT JOIN (
    SELECT invoice_id, SUM(CASE WHEN kind = 'payment' THEN amount_cents WHEN kind = 'refund' THEN -amount_cents
                                ELSE 0 END) AS net
    FROM billing_payment GROUP BY invoice_id) p ON p.invoice_id = i.id
"""


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


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
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
