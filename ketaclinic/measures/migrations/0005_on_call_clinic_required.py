import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0004_on_call_at_the_clinic'),
    ]

    operations = [
        migrations.AlterField(
            model_name='oncall',
            name='clinic',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinic.clinic'),
        ),
        migrations.AddConstraint(
            model_name='oncall',
            constraint=models.UniqueConstraint(fields=('clinic', 'day'), name='one_on_call_a_day_per_clinic'),
        ),
    ]
