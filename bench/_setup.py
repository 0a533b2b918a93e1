"""Point Django at a throwaway database for a benchmark, migrate it, and return."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def setup_django() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    if os.environ.get("DB", "sqlite") == "sqlite" and "DB_NAME" not in os.environ:
        tmp = tempfile.mkdtemp(prefix="ketaclinic-bench-")
        os.environ["DB_NAME"] = str(Path(tmp) / "bench.sqlite3")
        os.environ.setdefault("KETACLINIC_DATA_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def synthetic_staff(prefix: str, clinic_name: str = "Bench clinic (synthetic)"):
    """The clinic (the first one, else a new synthetic one) and a prescriber, nurse, front desk and clinic admin
    (usernames ``<prefix>-<role>``). Returns (clinic, staff by role)."""
    from ketaclinic.accounts.models import RoleGrant, User, grant_clinic_id
    from ketaclinic.clinic.models import Clinic

    clinic = Clinic.objects.first() or Clinic.objects.create(name=clinic_name, time_zone="America/Denver")
    staff = {}
    for role in ("prescriber", "nurse", "front_desk", "clinic_admin"):
        user = User.objects.create_user(username=f"{prefix}-{role}", password="bench-password-123",
                                        first_name=prefix.title(), last_name=role.title())
        RoleGrant.objects.create(user=user, clinic_id=grant_clinic_id(), role=role)
        staff[role] = user
    return clinic, staff


def dosing_world(prefix: str = "bench", minutes_ago: int = 600):
    """A synthetic clinic with a prescriber, nurse, front desk and clinic admin (usernames ``<prefix>-<role>``), one
    synthetic patient, and an IV session whose dose started ``minutes_ago - 5`` minutes ago, all through the app's
    services. Returns (clinic, staff, patient, session, rooms)."""
    from datetime import date, timedelta

    from django.utils import timezone

    from ketaclinic.audit.services import Actor
    from ketaclinic.patients.services import register_patient
    from ketaclinic.treatments import services
    from tests.factories import IV, actor, book_now, make_order, make_rooms, ready_to_start

    clinic, staff = synthetic_staff(prefix)
    patient = register_patient(actor=Actor(user=staff["front_desk"], roles=frozenset({"front_desk"})),
                               clinic=clinic, data={"legal_given_name": "Bench", "legal_family_name": "Synthetic",
                                                    "date_of_birth": date(1980, 1, 1), "sex_at_birth": "male"},
                               confirm_duplicate=True, is_demo=True)
    rooms = make_rooms(clinic)
    session = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=minutes_ago), staff,
                             minutes_ago=minutes_ago)
    session = services.start_dose(actor=actor(staff["nurse"]), session=session,
                                  at=timezone.now() - timedelta(minutes=minutes_ago - 5))
    return clinic, staff, patient, session, rooms
