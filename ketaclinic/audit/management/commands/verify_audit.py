from django.core.management.base import BaseCommand, CommandError

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and name the first broken entry."

    def handle(self, *args, **options):
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"Audit chain BROKEN at entry {problem.seq}: {problem.reason}")
        self.stdout.write(f"Audit chain intact: {AuditEntry.objects.count()} entries verified.")
