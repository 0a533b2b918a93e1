"""The demo clinic (``manage.py seed_demo``) loads every role, is synthetic throughout and is safe to load twice, and
it reads like a real one: its past treatment sessions sit inside the clinic's hours on its working days, and its
controlled-substance ledger is written in time order (entry numbers follow the clock).

Loading the demo clinic takes seconds, so it is loaded once for this module (``demo``, rolled back when the module
ends: tests.conftest.rolled_back_world) and every test reads it in its own savepoint."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ketaclinic.accounts.models import RoleGrant, User
from ketaclinic.audit.seals import verify_records
from ketaclinic.audit.services import verify_chain
from ketaclinic.clinic.demo_data import FAMILY
from ketaclinic.clinic.models import Clinic, Room
from ketaclinic.custody.models import LedgerEntry, Product, Supplier
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.services import hours_for
from ketaclinic.treatments.models import TreatmentSession
from tests.demo_world import demo_world

pytestmark = pytest.mark.django_db


@dataclass
class Demo:
    clinic: Clinic
    output: str  # what seed_demo printed


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Demo:
    """The demo clinic with 12 patients, loaded by the command once for the module (on an empty database)."""
    with demo_world(django_db_blocker, patients=12) as output:
        yield Demo(clinic=Clinic.objects.filter(is_demo=True).order_by("pk").first(), output=output)


@pytest.fixture
def demo_clinic(demo) -> Clinic:
    return demo.clinic


def test_seed_demo_loads_every_role_synthetic_throughout(demo):
    assert "Demo clinic loaded" in demo.output and "demo-clinic-2026" in demo.output
    for username in ("prescriber", "nurse", "nurse2", "therapist", "frontdesk", "billing", "compliance", "admin"):
        assert username in demo.output
        assert User.objects.get(username=username).is_demo
    clinic, second = Clinic.objects.order_by("pk")  # the demo network: two sites, both said to be synthetic
    assert clinic.is_demo and "synthetic" in clinic.name and second.is_demo and "synthetic" in second.name
    # the demo's prescriber and clinic admin also work at the second site (the header's "Work at"); no one else does
    at_second = RoleGrant.objects.filter(clinic=second).values_list("user__username", "role")
    assert sorted(at_second) == [("admin", "clinic_admin"), ("prescriber", "prescriber")]
    assert second.dea_registration and second.dea_registration != clinic.dea_registration
    assert Room.objects.filter(clinic=clinic).count() >= 4
    patients = Patient.objects.all()
    assert patients.count() >= 12
    assert all(p.is_demo for p in patients)
    assert {p.legal_family_name for p in patients[:12]} <= set(FAMILY)
    assert all(p.email.endswith("@example.invalid") for p in patients if p.email)
    assert verify_chain() is None
    checked, problems = verify_records()  # the demo's back-dated orders and assessments are sealed again
    assert checked > 100 and problems == []


def test_seed_demo_a_second_time_changes_nothing(demo):
    patients = Patient.objects.count()
    again = StringIO()
    call_command("seed_demo", patients=12, stdout=again)
    assert "already loaded" in again.getvalue()
    assert Clinic.objects.count() == 2 and Patient.objects.count() == patients  # the two sites, as loaded


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


def _outside(clinic, moments_and_minutes) -> list[str]:
    """Each (start, minutes) that does not start on a working day, or does not run inside the clinic's hours."""
    hours, days, tz = hours_for(clinic), clinic.weekdays(), clinic.tz
    outside = []
    for at, minutes in moments_and_minutes:
        start = timezone.localtime(at, tz)
        end = timezone.localtime(at + timedelta(minutes=minutes), tz)
        if start.weekday() not in days or start.time() < hours.opens or end.date() != start.date() \
                or end.time() > hours.closes:
            outside.append(f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}")
    return outside


def test_every_demo_session_today_and_to_come_is_booked_within_clinic_hours_on_working_days(demo_clinic):
    """Today's board and the sessions still to come are booked through the booking service, as the front desk books:
    a demo loaded before opening, at night or on a day off has no session in progress rather than one at 00:05."""
    today = timezone.localdate(timezone.now(), demo_clinic.tz)
    sessions = [(s.scheduled_start, s.scheduled_minutes) for s in TreatmentSession.objects.filter(
        patient__clinic=demo_clinic) if timezone.localtime(s.scheduled_start, demo_clinic.tz).date() >= today]
    assert sessions  # at least the sessions booked ahead
    assert not _outside(demo_clinic, sessions)


def test_demo_integration_sessions_sit_within_clinic_hours_on_working_days(demo_clinic):
    from ketaclinic.integration.models import IntegrationSession

    held = [(i.scheduled_start, i.scheduled_minutes) for i in IntegrationSession.objects.filter(
        patient__clinic=demo_clinic, scheduled_start__isnull=False)]
    assert len(held) >= 10
    outside = _outside(demo_clinic, held)
    assert not outside, f"integration sessions outside the clinic's hours or working days: {outside}"


def test_demo_ledger_entries_are_numbered_in_time_order(demo_clinic):
    entries = list(LedgerEntry.objects.order_by("seq").values_list("seq", "at", "kind"))
    assert len(entries) > 20
    backwards = [(a, b) for a, b in itertools.pairwise(entries) if b[1] < a[1]]
    assert not backwards, f"{len(backwards)} entries dated before the entry numbered ahead of them: {backwards[:3]}"


def test_the_demo_still_says_it_is_synthetic(demo_clinic):
    assert demo_clinic.is_demo and "synthetic" in demo_clinic.name
    assert all("(synthetic" in s.name for s in Supplier.objects.all())
    assert Product.objects.filter(name__contains="synthetic NDC").exists()


def test_the_demo_has_a_titrated_iv_series_and_esketamine_on_the_labels_plan(demo_clinic):
    from decimal import Decimal

    from ketaclinic.treatments.models import DoseDecision, TitrationPlan

    stepped = DoseDecision.objects.get(session__order__route="iv", session__patient__clinic=demo_clinic)
    assert (stepped.proposed, stepped.direction, stepped.dose) == (Decimal("0.75"), "up", Decimal("0.75"))
    assert stepped.step_up_criteria_met and not stepped.override_reason
    earlier = stepped.session.order.sessions.exclude(pk=stepped.session_id)
    assert {s.dose_mg_per_kg for s in earlier} == {Decimal("0.5")} and all(s.is_signed for s in earlier)
    label = TitrationPlan.objects.filter(order__route="intranasal", label_plan="esketamine-trd")
    assert label.exists() and all(str(p) == "56 mg → 84 mg; start 56 mg; ceiling 84 mg" for p in label)


def test_the_demo_clinic_closes_on_the_federal_holidays_it_booked_nothing_on(demo_clinic):
    from ketaclinic.clinic.models import ClosedDay
    from ketaclinic.scheduling import closures

    year = timezone.localdate().year
    closed = list(ClosedDay.objects.filter(clinic=demo_clinic).values_list("day", flat=True))
    assert closed and {d.year for d in closed} <= {year, year + 1}
    assert closures._bookings_on(demo_clinic, closed) == {}  # nothing stands on a closed day
    for y in (year, year + 1):  # every holiday left open is one the demo booked on
        assert all(booked for _, _, booked in closures.federal_holidays_open(demo_clinic, y))
