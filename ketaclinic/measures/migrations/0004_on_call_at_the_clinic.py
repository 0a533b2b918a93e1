# The roster kept before rosters named a clinic was the install's clinic's (one per install then).

from django.db import migrations


def at_the_clinic(apps, schema_editor):
    OnCall = apps.get_model("measures", "OnCall")
    Clinic = apps.get_model("clinic", "Clinic")
    if not OnCall.objects.filter(clinic__isnull=True).exists():
        return
    clinic = Clinic.objects.order_by("pk").first() or Clinic.objects.create(name="Unnamed clinic")
    OnCall.objects.filter(clinic__isnull=True).update(clinic=clinic)


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0003_on_call_clinic'),
    ]

    operations = [
        migrations.RunPython(at_the_clinic, migrations.RunPython.noop),
    ]
