"""The one `verify_*` command behind ``verify_audit`` and ``verify_ledger``: recompute a chain under its key, then
hold it against the checkpoints kept outside the database (``checkpoints.py``)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from ketaclinic.audit import checkpoints
from ketaclinic.audit.chain import ChainBreak
from ketaclinic.audit.models import ChainedEntry


class VerifyChainCommand(BaseCommand):
    title = ""  # "Audit chain"
    model: type[ChainedEntry]
    find_break: Callable[[], ChainBreak | None]  # a staticmethod in the subclass

    def handle(self, *args, **options):
        problem = type(self).find_break()
        if problem is not None:
            raise CommandError(f"{self.title} BROKEN at entry {problem.seq}: {problem.reason}")
        problems = checkpoints.verify(self.model.chain)
        if problems:
            raise CommandError(f"{self.title} BROKEN: " + "; ".join(problems))
        count = self.model.objects.count()
        held = sum(1 for p in checkpoints.read()[0] if p.chain == self.model.chain)
        against = f", and it agrees with {held} checkpoint(s) kept outside the database" if held else (
            "; no checkpoint yet (run `manage.py checkpoint_chains` on a schedule)")
        self.stdout.write(f"{self.title} intact: {count} entries verified{against}.")
