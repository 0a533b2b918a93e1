# The index of the copies waiting for the worker, moved out of 0005 to be built concurrently on PostgreSQL: documents
# are drawn and stored while it is built. Where 0005 built it already (installs that applied 0005 before), it is
# left as it is.

from django.db import migrations, models

from ketaclinic.migrationops import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('fhir', '0005_stored_pdf_reserved'),
    ]

    operations = [
        AddIndexOnline(
            model_name='storedpdf',
            index=models.Index(condition=models.Q(('content__isnull', True), ('worker_skipped_at__isnull', True)), fields=['id'], name='fhir_pdf_waiting'),
        ),
    ]
