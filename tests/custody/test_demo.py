"""The demo clinic's custody ledger is believable and reconciles."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from django.utils import timezone

from ketaclinic.custody import demo, services
from ketaclinic.custody.models import Count, Incident, LedgerEntry

pytestmark = pytest.mark.django_db


def test_demo_ledger_reconciles(clinic, staff, make_user, make_patient, make_session, room, other_room, staff_nurse2):
    from tests.factories import open_day

    users = {"admin": staff["clinic_admin"], "nurse": staff["nurse"], "nurse2": staff_nurse2,
             "prescriber": staff["prescriber"], "compliance": staff["compliance"]}
    for i in range(6):
        make_session(make_patient(), dose_mg=str(30 + i * 5), administered_mg=str(30 + i * 5),
                     start=open_day(clinic, -(6 - i)))  # one on each of the clinic's last six days
    for _ in range(2):
        make_session(make_patient(), dose_mg="56", administered_mg="56", drug="esketamine", at_room=other_room)
    ctx = SimpleNamespace(clinic=clinic, users=users, now=timezone.now(), rng=random.Random(1), extra={})
    demo.seed(ctx)
    rec = services.reconciliation()
    assert rec.balances and ctx.extra["custody"]["balances"]
    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert {"receive", "draw", "administer", "waste", "destroy", "return"} <= kinds
    assert LedgerEntry.objects.filter(kind="draw", session__isnull=False).count() >= 6 + 4
    assert not LedgerEntry.objects.filter(kind="waste", witness__isnull=True).exists()
    assert Count.objects.filter(kind="initial").count() == 2 and Count.objects.filter(kind="routine").count() == 2
    assert Incident.objects.filter(status="open").count() <= 1
    assert services.verify_ledger() is None


@pytest.fixture
def staff_nurse2(make_user):
    return make_user("nurse", username="nurse2")
