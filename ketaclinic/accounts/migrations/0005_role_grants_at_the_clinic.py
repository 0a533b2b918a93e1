# Every role granted before a grant named its clinic was granted at the install's clinic (one per install then):
# the first clinic, created as current_clinic() would if staff exist and no clinic does yet.

from django.db import migrations


def at_the_clinic(apps, schema_editor):
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    Clinic = apps.get_model("clinic", "Clinic")
    if not RoleGrant.objects.filter(clinic__isnull=True).exists():
        return
    clinic = Clinic.objects.order_by("pk").first() or Clinic.objects.create(name="Unnamed clinic")
    RoleGrant.objects.filter(clinic__isnull=True).update(clinic=clinic)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_role_grant_clinic'),
    ]

    operations = [
        migrations.RunPython(at_the_clinic, migrations.RunPython.noop),
    ]
