"""Seal, once, the registry records and staff accounts written before they were sealed (an upgrade), so that
``verify_records`` watches them from then on. Check them first (the seal vouches for what is there now)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor


class Command(BaseCommand):
    help = "Seal the patients' registry records and the staff accounts that have no seal yet (run once at upgrade)."

    def handle(self, *args, **options):
        done = seals.seal_baseline(Actor.system("seal_baseline"))  # commits chunk by chunk
        for label, count in done.items():
            self.stdout.write(f"{label}: {count} sealed now")
