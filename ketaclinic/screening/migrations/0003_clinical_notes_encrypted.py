# Free-text clinical notes encrypted at rest (issue 17 point 7): the columns stay text; what they hold is
# rewritten as Fernet tokens under the first of settings.NOTE_KEYS (ketaclinic/encryption.py).

import ketaclinic.encryption
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('screening', '0002_retraction_baseline_administration'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consult',
            name='notes',
            field=ketaclinic.encryption.EncryptedTextField(blank=True, help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        ketaclinic.encryption.encrypt_stored('screening', 'consult', 'notes'),
    ]
