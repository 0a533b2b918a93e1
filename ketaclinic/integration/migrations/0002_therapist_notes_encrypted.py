# Therapist notes encrypted at rest (issue 17 point 7): the column stays text; every stored note is rewritten as
# a Fernet token under the first of settings.NOTE_KEYS (ketaclinic/encryption.py).

import ketaclinic.encryption
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0001_integration_sessions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='therapistnote',
            name='text',
            field=ketaclinic.encryption.EncryptedTextField(help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        ketaclinic.encryption.encrypt_stored('integration', 'therapistnote', 'text'),
    ]
