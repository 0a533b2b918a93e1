"""The demo clinic reads like a real one: its past treatment sessions sit inside the clinic's hours on its working
days, and its controlled-substance ledger is written in time order (entry numbers follow the clock)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ketaclinic.clinic.models import Clinic
from ketaclinic.custody.models import LedgerEntry, Product, Supplier
from ketaclinic.scheduling.services import hours_for
from ketaclinic.treatments.models import TreatmentSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_clinic(db):
    call_command("seed_demo", patients=12, stdout=StringIO())
    return Clinic.objects.get(is_demo=True)


def test_demo_past_sessions_start_and_end_within_clinic_hours_on_working_days(demo_clinic):
    hours, days, tz = hours_for(demo_clinic), demo_clinic.weekdays(), demo_clinic.tz
    today = timezone.localdate(timezone.now(), tz)
    past = [s for s in TreatmentSession.objects.filter(patient__clinic=demo_clinic)
            if timezone.localtime(s.scheduled_start, tz).date() < today]
    assert len(past) >= 10
    outside = []
    for s in past:
        start = timezone.localtime(s.scheduled_start, tz)
        end = timezone.localtime(s.scheduled_start + timedelta(minutes=s.scheduled_minutes), tz)
        if start.weekday() not in days or start.time() < hours.opens or end.date() != start.date() \
                or end.time() > hours.closes:
            outside.append(f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M} ({s.get_route_display()})")
    assert not outside, f"outside {hours.opens:%H:%M}-{hours.closes:%H:%M} on working days: {outside}"


def test_demo_ledger_entries_are_numbered_in_time_order(demo_clinic):
    entries = list(LedgerEntry.objects.order_by("seq").values_list("seq", "at", "kind"))
    assert len(entries) > 20
    backwards = [(a, b) for a, b in itertools.pairwise(entries) if b[1] < a[1]]
    assert not backwards, f"{len(backwards)} entries dated before the entry numbered ahead of them: {backwards[:3]}"


def test_the_demo_still_says_it_is_synthetic(demo_clinic):
    assert demo_clinic.is_demo and "synthetic" in demo_clinic.name
    assert all("(synthetic" in s.name for s in Supplier.objects.all())
    assert Product.objects.filter(name__contains="synthetic NDC").exists()
