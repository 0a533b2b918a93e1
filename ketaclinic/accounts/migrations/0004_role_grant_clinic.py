# A role is held at one clinic of the network (issue 19): the grant names its clinic. Three steps, each its own
# transaction: the column (nullable), the grants that exist now given the install's clinic, then the column made
# required. accounts_rolegrant holds a row per role a staff member holds (tests/foundation/
# test_migrations_take_no_long_lock.py SMALL_TABLES): its locks last a moment at any clinic's size.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_passkeys'),
        ('clinic', '0002_closed_day'),
    ]

    operations = [
        migrations.AddField(
            model_name='rolegrant',
            name='clinic',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='role_grants', to='clinic.clinic'),
        ),
        migrations.RemoveConstraint(
            model_name='rolegrant',
            name='unique_role_per_user',
        ),
        migrations.AlterModelOptions(
            name='rolegrant',
            options={'ordering': ['clinic', 'role']},
        ),
    ]
