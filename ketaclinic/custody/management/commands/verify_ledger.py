from ketaclinic.audit.verifying import VerifyChainCommand
from ketaclinic.custody.models import LedgerEntry
from ketaclinic.custody.services import verify_ledger


class Command(VerifyChainCommand):
    help = ("Recompute the custody ledger's keyed hash chain, name the first broken entry, and check it against "
            "the checkpoints kept outside the database.")
    title = "Custody ledger"
    model = LedgerEntry
    find_break = staticmethod(verify_ledger)
