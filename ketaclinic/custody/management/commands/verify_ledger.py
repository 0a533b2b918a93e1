from django.core.management.base import BaseCommand, CommandError

from ketaclinic.custody.models import LedgerEntry
from ketaclinic.custody.services import verify_ledger


class Command(BaseCommand):
    help = "Recompute the custody ledger's hash chain and name the first broken entry."

    def handle(self, *args, **options):
        problem = verify_ledger()
        if problem is not None:
            raise CommandError(f"Custody ledger BROKEN at entry {problem.seq}: {problem.reason}")
        self.stdout.write(f"Custody ledger intact: {LedgerEntry.objects.count()} entries verified.")
