from django.core.management.base import BaseCommand, CommandError

from ketaclinic.audit import checkpoints
from ketaclinic.audit.seals import verify_records
from ketaclinic.audit.services import verify_chain


class Command(BaseCommand):
    help = ("Recompute every signed clinical record (session notes with their vitals, events and ratings; orders; "
            "eligibility assessments; therapist notes; questionnaire answers) and name each one that no longer "
            "holds what was signed, or says it is signed without a seal. The audit trail that holds the seals is "
            "verified first.")

    def handle(self, *args, **options):
        broken = verify_chain()
        problems = checkpoints.verify("audit")
        if broken is not None or problems:
            reason = f"entry {broken.seq}: {broken.reason}" if broken else "; ".join(problems)
            raise CommandError(f"The audit trail that holds the seals is broken ({reason}): its seals prove nothing. "
                               "Run verify_audit.")
        checked, mismatches = verify_records()
        for p in mismatches:
            self.stderr.write(f"{p.record} {p.pk}{f' (sealed {p.signed_at})' if p.signed_at else ''}: {p.reason}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} signed records do not match their signature "
                               f"({checked} sealed records checked).")
        self.stdout.write(f"Signed records intact: {checked} records verified against their signatures.")
