"""What a staff account's access holds for tamper evidence (``ketaclinic/audit/seals.py``): the roles it is
granted and whether it is active, staff or superuser. ``create_staff`` and every change on the admin's staff page
seal it, so a role granted, or an account switched on, in the database is named by ``verify_records``. (Accounts
written straight into the database by a test fixture or before this check existed are sealed at their next change
through the application.)"""

from django.db.models import Q

from ketaclinic.accounts.models import User, first_clinic_id
from ketaclinic.audit import seals


def _content(user: User) -> dict[str, object]:
    grants = sorted(user.role_grants.values_list("role", "clinic_id"))
    access: dict[str, object] = {"roles": [role for role, _clinic in grants], "is_active": user.is_active,
                                 "is_staff": user.is_staff, "is_superuser": user.is_superuser}
    held_at = {clinic for _role, clinic in grants}
    if held_at and held_at != {first_clinic_id()}:  # the first clinic read only for an account holding a role
        # a role held at another clinic of the network than the install's first: each role with where it is held.
        # (An install of one clinic seals what it sealed before clinics were named, so its seals stay true.)
        access["at"] = [f"{role}@{clinic}" for role, clinic in grants]
    return {"access": access}


# checked: every account the application sealed (create_staff, the admin; seal_baseline for older staff accounts)
seals.register(User, _content, signed={"pk__in": []}, baseline=Q(role_grants__isnull=False) | Q(is_staff=True) | Q(is_superuser=True))
