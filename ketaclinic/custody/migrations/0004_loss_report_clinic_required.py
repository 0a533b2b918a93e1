import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('custody', '0003_loss_reports_at_their_clinic'),
    ]

    operations = [
        migrations.AlterField(
            model_name='lossreport',
            name='clinic',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinic.clinic'),
        ),
    ]
