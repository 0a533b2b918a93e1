from django.db import migrations

from ketaclinic.audit.append_only import migration_operations


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = migration_operations("audit_auditentry")
