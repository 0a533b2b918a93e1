from django.core.management.base import BaseCommand, CommandError

from ketaclinic.crossapp.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into this install's database, which must be empty, then "
            "prove it: the file's SHA-256, the keys, every chain head against the manifest, every chain under the "
            "key and every signed record against its seal. See docs/operations.md.")

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the backup folder (the one holding manifest.json)")

    def handle(self, *args, **options):
        try:
            done = restore(options["folder"])
        except BackupError as e:
            raise CommandError(str(e)) from None
        heads = ", ".join(f"{name} at entry {h['seq']}" for name, h in done.chains.items()) or "no chains"
        self.stdout.write(f"Restored {done.folder.name} in {done.seconds:.1f} s and proved it: {heads} intact, "
                          f"{done.records_checked} signed records match their seals, {done.attachments} message "
                          "attachments are back.")
        for note in done.checkpoint_notes:
            self.stdout.write(f"Checkpoints outside the database: {note}")
        if done.checkpoint_notes:
            self.stdout.write("The checkpoint file was written after this backup: the entries it names were made "
                              "after the backup and are not in it. Keep that file as evidence, start a new one "
                              "(docs/operations.md, 'Restoring'), and run checkpoint_chains.")
