from django.core.management.base import BaseCommand, CommandError

from ketaclinic.audit.seals import verify_records


class Command(BaseCommand):
    help = ("Recompute every signed clinical record (session notes with their vitals, events and ratings; orders; "
            "eligibility assessments; therapist notes; scale answers) and name each one that no longer holds what "
            "was signed.")

    def handle(self, *args, **options):
        checked, problems = verify_records()
        for p in problems:
            self.stderr.write(f"{p.record} {p.pk} (signed {p.signed_at}): {p.reason}")
        if problems:
            raise CommandError(f"{len(problems)} of {checked} signed records do not match their signature.")
        self.stdout.write(f"Signed records intact: {checked} records verified against their signatures.")
