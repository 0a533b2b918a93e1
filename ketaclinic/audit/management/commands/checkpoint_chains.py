from django.core.management.base import BaseCommand

from ketaclinic.audit import checkpoints


class Command(BaseCommand):
    help = ("Append each hash chain's head (the audit trail, the custody ledger), signed with the chain key, to the "
            "checkpoint file outside the database (settings.CHAIN_CHECKPOINT_DIR). Run it on a schedule and keep "
            "the file in every backup.")

    def handle(self, *args, **options):
        written = checkpoints.write()
        for point in written:
            self.stdout.write(f"Checkpoint: {point.chain} chain at entry {point.seq}.")
        if not written:
            self.stdout.write("No chain has an entry yet.")
        self.stdout.write(f"File: {checkpoints.checkpoint_file()}")
