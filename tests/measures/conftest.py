"""Fixtures for measures and portal tests: dosing sessions, portal patients, scale answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest


@pytest.fixture
def make_session(staff):
    from django.utils import timezone

    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    orders: dict[int, object] = {}

    def make(patient, *, start=None, dosed=True, mg="35", status=None, order=None, sequence=1, drug="ketamine",
             route="iv"):
        if order is None:
            order = orders.get(patient.pk)
            if order is None:
                order = orders[patient.pk] = TreatmentOrder.objects.create(
                    patient=patient, drug=drug, route=route, status=TreatmentOrder.Status.ACTIVE,
                    created_by=staff["prescriber"], created_at=(start or timezone.now()) - timedelta(days=1))
        start = start or timezone.now()
        fields = {"patient": patient, "order": order, "sequence": sequence, "drug": drug, "route": route,
                  "scheduled_start": start}
        if dosed:
            fields.update(dose_started_at=start + timedelta(minutes=20), dose_ended_at=start + timedelta(minutes=60),
                          administered_mg=Decimal(mg), discharged_at=start + timedelta(minutes=150),
                          status=status or TreatmentSession.Status.DISCHARGED)
        else:
            fields["status"] = status or TreatmentSession.Status.BOOKED
        return TreatmentSession.objects.create(**fields)

    return make


@pytest.fixture
def make_portal_patient(make_patient, db):
    """A patient with a portal login; returns (patient, client) with the new-device check already passed."""
    from django.test import Client

    from ketaclinic.accounts.models import User
    from ketaclinic.portal.models import PatientAccount
    from ketaclinic.portal.services import SESSION_VERIFIED

    counter = {"n": 0}

    def make(**overrides):
        counter["n"] += 1
        email = overrides.pop("email", f"patient{counter['n']}@example.invalid")
        patient = make_patient(email=email, **overrides)
        user = User.objects.create_user(username=email, email=email, password="correct horse battery")
        account = PatientAccount.objects.create(user=user, patient=patient)
        client = Client()
        client.force_login(user)
        session = client.session
        session[SESSION_VERIFIED] = account.pk
        session.save()
        return patient, client

    return make


def phq9(*values):
    """PHQ-9 answers q1..q9 from nine values."""
    assert len(values) == 9
    return {f"q{i}": v for i, v in enumerate(values, 1)}


def phq9_total(total: int, item9: int = 0) -> dict:
    """PHQ-9 answers adding up to ``total`` with item 9 as given."""
    rest = total - item9
    values = []
    for _ in range(8):
        v = min(3, rest)
        values.append(v)
        rest -= v
    assert rest == 0
    return phq9(*values, item9)
