"""The demo clinic loads, is synthetic throughout, and is safe to load twice."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from ketaclinic.accounts.models import User
from ketaclinic.audit.services import verify_chain
from ketaclinic.clinic.demo_data import FAMILY
from ketaclinic.clinic.models import Clinic, Room
from ketaclinic.patients.models import Patient


def test_seed_demo_loads_every_role_and_is_idempotent(db):
    out = StringIO()
    call_command("seed_demo", patients=12, stdout=out)
    first = out.getvalue()
    assert "Demo clinic loaded" in first and "demo-clinic-2026" in first
    for username in ("prescriber", "nurse", "nurse2", "therapist", "frontdesk", "billing", "compliance", "admin"):
        assert username in first
        assert User.objects.get(username=username).is_demo
    clinic = Clinic.objects.get()
    assert clinic.is_demo and "synthetic" in clinic.name
    assert Room.objects.filter(clinic=clinic).count() >= 4
    patients = Patient.objects.all()
    assert patients.count() >= 12
    assert all(p.is_demo for p in patients)
    assert {p.legal_family_name for p in patients[:12]} <= set(FAMILY)
    assert all(p.email.endswith("@example.invalid") for p in patients if p.email)
    assert verify_chain() is None

    again = StringIO()
    call_command("seed_demo", patients=12, stdout=again)
    assert "already loaded" in again.getvalue()
    assert Clinic.objects.count() == 1 and Patient.objects.count() == patients.count()
