from django.core.management.base import BaseCommand

from ketaclinic.access import POLICY, rule_for, url_names
from ketaclinic.accounts.roles import Role


class Command(BaseCommand):
    help = "Print who may use each page (ketaclinic/access.py) as a role-by-page matrix."

    def handle(self, *args, **options):
        roles = list(Role)
        header = f"{'page':<42}" + "".join(f"{r.value[:10]:>11}" for r in roles) + "  other"
        self.stdout.write(header)
        for name in sorted(POLICY):
            rule = POLICY[name]
            cells = "".join(f"{('yes' if r in rule.roles else '-'):>11}" for r in roles)
            other = "anyone" if rule.public else "signed-in" if rule.any_signed_in else "patient" if rule.patient else ""
            self.stdout.write(f"{name:<42}{cells}  {other}")
        missing = [n for n in url_names() if rule_for(n) is None]
        if missing:
            self.stdout.write(self.style.WARNING("Refused to everyone (no policy): " + ", ".join(missing)))
