# Each loss report recorded before reports named a clinic: the clinic of the store its lost container was kept in
# (read from its loss entry in the ledger), else the install's first clinic (one per install then).

from django.db import migrations


def at_their_clinic(apps, schema_editor):
    LossReport = apps.get_model("custody", "LossReport")
    LedgerEntry = apps.get_model("custody", "LedgerEntry")
    Clinic = apps.get_model("clinic", "Clinic")
    reports = list(LossReport.objects.filter(clinic__isnull=True))
    if not reports:
        return
    first = Clinic.objects.order_by("pk").first() or Clinic.objects.create(name="Unnamed clinic")
    for report in reports:
        entry = (LedgerEntry.objects.filter(kind="loss", details__report=str(report.external_id))
                 .select_related("container__location").first())
        report.clinic_id = entry.container.location.clinic_id if entry else first.pk
        report.save(update_fields=["clinic"])


class Migration(migrations.Migration):

    dependencies = [
        ('custody', '0002_loss_report_clinic'),
    ]

    operations = [
        migrations.RunPython(at_their_clinic, migrations.RunPython.noop),
    ]
