from django.core.management.base import BaseCommand

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.encryption import encrypted_fields, rewrite, stale_rows

BATCH = 500


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted note (therapist notes, session notes, observations, addenda, order and "
            "consult notes) under the first key of NOTE_KEYS. Put the new key first, restart, run this (on "
            "PostgreSQL as the tables' owner: append-only tables' triggers are lifted for the rewrite), then remove "
            "the old key.")

    def handle(self, *args, **options):
        counts: dict[str, int] = {}
        for model, field in encrypted_fields():
            stale = stale_rows(model, field)
            for start in range(0, len(stale), BATCH):
                rewrite(model, field, stale[start:start + BATCH])
            label = f"{model._meta.label}.{field.name}"
            counts[label] = len(stale)
            self.stdout.write(f"{label}: {len(stale)} re-encrypted under the current key.")
        record(Actor.system("rotate_note_keys"), AuditAction.SECURITY_NOTE_KEYS_ROTATED, details={"re_encrypted": counts})
        self.stdout.write(f"Done: {sum(counts.values())} values re-encrypted.")
