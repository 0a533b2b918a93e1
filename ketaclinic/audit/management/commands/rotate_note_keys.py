from django.core.management.base import BaseCommand
from django.db import connection, transaction

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.encryption import encrypted_fields, under_current_key

BATCH = 500


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted note (therapist notes and other sensitive free text) under the first key of "
            "NOTE_KEYS. Put the new key first, restart, run this, then remove the old key.")

    def handle(self, *args, **options):
        q = connection.ops.quote_name
        counts: dict[str, int] = {}
        for model, field in encrypted_fields():
            with connection.cursor() as cur:  # the stored form, to leave alone what is already under the current key
                cur.execute(f"SELECT {q(model._meta.pk.column)}, {q(field.column)} FROM {q(model._meta.db_table)}")
                stale = [pk for pk, stored in cur.fetchall() if stored is not None and not under_current_key(stored)]
            for start in range(0, len(stale), BATCH):
                with transaction.atomic():
                    rows = model._default_manager.filter(pk__in=stale[start:start + BATCH])
                    for pk, text in rows.values_list("pk", field.attname):  # read as plain text
                        model._default_manager.filter(pk=pk).update(**{field.attname: text})  # written anew
            label = f"{model._meta.label}.{field.name}"
            counts[label] = len(stale)
            self.stdout.write(f"{label}: {len(stale)} re-encrypted under the current key.")
        record(Actor.system("rotate_note_keys"), AuditAction.NOTE_KEYS_ROTATED, details={"re_encrypted": counts})
        self.stdout.write(f"Done: {sum(counts.values())} values re-encrypted.")
