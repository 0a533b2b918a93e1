from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ketaclinic.crossapp.backup import BackupError, make_backup


class Command(BaseCommand):
    help = ("Back up the clinic's database while it runs (SQLite online backup, or pg_dump's custom format) into a "
            "new private folder with a manifest of every chain head, the file's SHA-256 and the keys it needs "
            "(fingerprints only: keep the key files apart from the backups). See docs/operations.md.")

    def add_arguments(self, parser):
        parser.add_argument("--to", default=None,
                            help="the folder to write the backup folder into (default: <KETACLINIC_DATA_DIR>/backups)")

    def handle(self, *args, **options):
        parent = Path(options["to"]) if options["to"] else Path(settings.DATA_DIR) / "backups"
        try:
            folder, manifest = make_backup(parent)
        except BackupError as e:
            raise CommandError(str(e)) from None
        heads = ", ".join(f"{name} at entry {h['seq']}" for name, h in manifest["chains"].items()) or "no chains yet"
        self.stdout.write(f"Backup written to {folder} ({manifest['bytes']:,} bytes, SHA-256 "
                          f"{manifest['sha256'][:16]}…): {heads}.")
