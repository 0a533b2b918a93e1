from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import verify_chain
from ketaclinic.audit.verifying import VerifyChainCommand


class Command(VerifyChainCommand):
    help = ("Recompute the audit trail's keyed hash chain, name the first broken entry, and check it against the "
            "checkpoints kept outside the database.")
    title = "Audit chain"
    model = AuditEntry
    find_break = staticmethod(verify_chain)
