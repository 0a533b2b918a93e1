import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_role_grants_at_the_clinic'),
    ]

    operations = [
        migrations.AlterField(
            model_name='rolegrant',
            name='clinic',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='role_grants', to='clinic.clinic'),
        ),
        migrations.AddConstraint(
            model_name='rolegrant',
            constraint=models.UniqueConstraint(fields=('user', 'clinic', 'role'), name='one_role_per_user_at_a_clinic'),
        ),
    ]
