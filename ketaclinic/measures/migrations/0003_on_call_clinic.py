# Each clinic of a network keeps its own on-call roster (issue 19): the roster names its clinic. Three steps, each its
# own transaction: the column (nullable) and a day no longer unique across the install; the days on the roster now
# given the install's clinic; then the column required and one prescriber a day per clinic. measures_oncall holds a
# row per day (tests/foundation/test_migrations_take_no_long_lock.py SMALL_TABLES).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0002_closed_day'),
        ('measures', '0002_safety_task_origin'),
    ]

    operations = [
        migrations.AddField(
            model_name='oncall',
            name='clinic',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinic.clinic'),
        ),
        migrations.AlterField(
            model_name='oncall',
            name='day',
            field=models.DateField(),
        ),
    ]
