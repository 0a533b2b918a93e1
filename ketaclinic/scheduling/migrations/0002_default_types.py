"""Seed each clinic's appointment types with the defaults (lengths are the clinic's choice, editable later)."""

from django.db import migrations

DEFAULT_TYPES = (
    ("consult", "Consult / psychiatric evaluation", 60, "prescriber", "consult"),
    ("follow_up", "Follow-up", 30, "prescriber,nurse", "consult"),
    ("integration", "Integration session", 50, "therapist", "therapy"),
    ("treatment", "Treatment session (chair time)", 120, "nurse,prescriber", "infusion"),
    ("esketamine", "Esketamine session (chair time)", 150, "nurse,prescriber", "intranasal"),
)


def seed(apps, schema_editor):
    Clinic = apps.get_model("clinic", "Clinic")
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for clinic in Clinic.objects.all():
        for code, name, minutes, roles, kinds in DEFAULT_TYPES:
            AppointmentType.objects.get_or_create(clinic=clinic, code=code, defaults={
                "label": f"{name} · {minutes} min by default (the clinic's choice)", "minutes": minutes,
                "clinician_roles": roles, "room_kinds": kinds})


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
