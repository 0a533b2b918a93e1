# Therapist notes encrypted at rest (issue 17 point 7): the column stays text; every stored note is rewritten as
# a Fernet token under the first of settings.NOTE_KEYS (ketaclinic/encryption.py).

import ketaclinic.encryption
from django.db import migrations


def encrypt_stored_notes(apps, schema_editor):
    Note = apps.get_model("integration", "TherapistNote")
    for pk, text in Note.objects.values_list("pk", "text").iterator():
        Note.objects.filter(pk=pk).update(text=text)  # read as plain text, written encrypted by the field


def decrypt_stored_notes(apps, schema_editor):
    Note = apps.get_model("integration", "TherapistNote")
    with schema_editor.connection.cursor() as cur:
        for pk, text in Note.objects.values_list("pk", "text").iterator():
            cur.execute("UPDATE integration_therapistnote SET text = %s WHERE id = %s", [text, pk])


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
        migrations.RunPython(encrypt_stored_notes, decrypt_stored_notes),
    ]
