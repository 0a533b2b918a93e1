"""A treatment session's own records are append-only in the database (issue 10 point 10): vitals, dosing events,
adverse events (whose resolution time may be written once), ratings, observations, addenda and pre-dose
overrides refuse UPDATE and DELETE, under the same triggers as the audit trail."""

from django.db import migrations

from ketaclinic.audit.append_only import migration_operations

TABLES = ("treatments_vitalsreading", "treatments_sessionevent", "treatments_adverseevent",
          "treatments_sessionrating", "treatments_observation", "treatments_addendum", "treatments_predoseoverride")


class Migration(migrations.Migration):

    dependencies = [
        ("treatments", "0004_safety_guards"),
    ]

    operations = [op for table in TABLES for op in migration_operations(table)]
