# A theft or loss report belongs to the clinic whose stock was lost: each clinic of a network files its own DEA
# Forms 106 (issue 19). Three steps, each its own transaction: the column (nullable), the reports that exist now
# given their clinic, then the column made required. custody_lossreport holds a row per theft or significant loss
# (tests/foundation/test_migrations_take_no_long_lock.py SMALL_TABLES).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0002_closed_day'),
        ('custody', '0001_create_ledger'),
    ]

    operations = [
        migrations.AddField(
            model_name='lossreport',
            name='clinic',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinic.clinic'),
        ),
    ]
