# Free-text clinical notes encrypted at rest (issue 17 point 7): the columns stay text; what they hold is
# rewritten as Fernet tokens under the first of settings.NOTE_KEYS (ketaclinic/encryption.py).

import ketaclinic.encryption
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('treatments', '0008_titration'),
    ]

    operations = [
        migrations.AlterField(
            model_name='addendum',
            name='text',
            field=ketaclinic.encryption.EncryptedTextField(help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        migrations.AlterField(
            model_name='observation',
            name='text',
            field=ketaclinic.encryption.EncryptedTextField(help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        migrations.AlterField(
            model_name='treatmentorder',
            name='notes',
            field=ketaclinic.encryption.EncryptedTextField(blank=True, help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        migrations.AlterField(
            model_name='treatmentsession',
            name='note_summary',
            field=ketaclinic.encryption.EncryptedTextField(blank=True, help_text='Encrypted at rest (ketaclinic/encryption.py)'),
        ),
        ketaclinic.encryption.encrypt_stored('treatments', 'addendum', 'text'),
        ketaclinic.encryption.encrypt_stored('treatments', 'observation', 'text'),
        ketaclinic.encryption.encrypt_stored('treatments', 'treatmentorder', 'notes'),
        ketaclinic.encryption.encrypt_stored('treatments', 'treatmentsession', 'note_summary'),
    ]
