"""Dose titration across a series: the plan written with the order, the proposal before each later session, the
prescriber's signature, and the signed dose being the one prepared and verified."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services as measures
from ketaclinic.treatments import services
from ketaclinic.treatments.models import DoseDecision, TitrationPlan
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    ESK,
    IV,
    actor,
    back_at,
    book_at,
    book_now,
    checked_in,
    clinic_open,
    discharged,
    dose_prepared,
    dosed_session,
    dosing_started,
    dosing_stopped,
    make_order,
    open_day,
    prechecked,
    predose_vitals,
    ready_to_start,
    signed,
)
from tests.measures.conftest import phq9_total

TITRATED_IV = IV | {"titrate": True, "titration_steps": [Decimal("0.5"), Decimal("0.75")], "titration_scale": "phq9"}


def phq9_at(patient, staff, total: int, when, timing="ad-hoc"):
    measures.record_administration(actor=actor(staff["nurse"]), patient=patient, scale="phq9",
                                   answers=phq9_total(total), administered_at=when, timing=timing)


def two_sessions_at_half(patient, staff, rooms, *, sign_last=True, after=16):
    """A titrated IV order: PHQ-9 baseline 20, two signed sessions at 0.5 mg/kg (4 and 2 clinic days ago), then a
    PHQ-9 of ``after`` (a weak response unless ``after`` <= 10) and a third session booked now (a clinic day)."""
    clinic_open(patient.clinic)
    first, second = open_day(patient.clinic, -4), open_day(patient.clinic, -2)
    order = make_order(patient, staff, TITRATED_IV)
    phq9_at(patient, staff, 20, first - timedelta(days=1), timing="baseline")
    dosed_session(patient, staff, order=order, rooms=rooms, start=first, end="signed")
    dosed_session(patient, staff, order=order, rooms=rooms, start=second, end="signed" if sign_last else "discharged")
    phq9_at(patient, staff, after, second + timedelta(hours=8))
    return order, book_now(order, staff, rooms)


def ready_for_dose(s, staff):
    s = prechecked(checked_in(s, staff), staff)
    predose_vitals(s, staff)
    return s


def test_the_order_keeps_its_plan(patient, staff):
    order = make_order(patient, staff, TITRATED_IV)
    plan = TitrationPlan.objects.get(order=order)
    assert str(plan) == "0.5 mg/kg → 0.75 mg/kg; start 0.5 mg/kg; ceiling 0.75 mg/kg"
    assert AuditEntry.objects.filter(action="order.titration.planned", subject_id=str(order.external_id)).exists()


@pytest.mark.parametrize("data, field, message", [
    ({"titration_steps": [Decimal("0.5"), Decimal("0.75")], "titration_ceiling": Decimal("0.6")},
     "titration_steps", "steps above its ceiling 0.6 mg/kg"),
    ({"titration_steps": [Decimal("0.5"), Decimal("1.25")]}, "titration_ceiling", "above the hard limit 1 mg/kg"),
    ({"titration_steps": [Decimal("0.75"), Decimal("1.0")]}, "dose_mg_per_kg", "start dose 0.5 mg/kg is not one"),
    ({"titration_steps": []}, "titration_steps", "List the doses"),
])
def test_a_bad_plan_is_refused_and_no_order_is_written(patient, staff, data, field, message):
    from tests.factories import make_eligible

    make_eligible(patient, staff)
    with pytest.raises(TreatmentError) as e:
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV | {"titrate": True} | data)
    assert message in e.value.errors[field]
    assert not patient.treatment_orders.exists()


def test_an_esketamine_plan_follows_the_label(patient, staff):
    order = make_order(patient, staff, ESK | {"titrate": True})
    assert str(order.titration) == "56 mg → 84 mg; start 56 mg; ceiling 84 mg"
    with pytest.raises(TreatmentError) as e:
        services.write_order(actor=actor(staff["prescriber"]), patient=patient,
                             data=ESK | {"titrate": True, "fixed_dose_mg": "84", "dose_override_reason": "x"})
    assert "The label's plan starts at 56 mg" in e.value.errors["fixed_dose_mg"]


def test_a_weak_response_after_two_tolerated_sessions_steps_up_through_the_prescribers_signature(
        patient, staff, rooms):
    order, s = two_sessions_at_half(patient, staff, rooms)
    shown = services.propose_for(s)
    assert shown.proposal.summary == "Step up to 0.75 mg/kg" and shown.proposal.step_up_criteria_met
    assert any("PHQ-9 20 → 16 (-20%" in r.text for r in shown.proposal.reasons)
    s = ready_for_dose(s, staff)
    with pytest.raises(TreatmentError, match="dose has not been signed"):
        dose_prepared(s, staff)  # the nurse cannot prepare before the prescriber signs
    with pytest.raises(TreatmentError, match="sign a session's dose"):
        services.sign_dose(actor=actor(staff["nurse"]), session=s, dose=Decimal("0.75"))
    row = services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.75"))
    assert (row.proposed, row.direction, row.step_up_criteria_met) == (Decimal("0.75"), "up", True)
    s = dose_prepared(s, staff)
    assert (s.dose_mg_per_kg, s.prepared_dose_mg) == (Decimal("0.75"), Decimal("52.50"))  # 0.75 x 70 kg
    assert AuditEntry.objects.filter(action="session.dose.signed", subject_id=str(s.external_id)).exists()
    with pytest.raises(TreatmentError, match="already prepared"):
        services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.5"), override_reason="x")


def test_a_responding_patient_is_proposed_the_same_dose_and_a_step_up_needs_a_reason(patient, staff, rooms):
    order, s = two_sessions_at_half(patient, staff, rooms, after=9)
    assert services.propose_for(s).proposal.summary == "Stay at 0.5 mg/kg"
    with pytest.raises(TreatmentError) as e:
        services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.75"))
    assert "criteria are not met: give your reason" in e.value.errors["override_reason"]
    assert not DoseDecision.objects.filter(session=s).exists()
    row = services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.75"),
                             override_reason="Patient asks for a stronger session; discussed risks.")
    assert row.override_reason.startswith("Patient asks")


def test_a_dose_off_the_plan_or_above_its_ceiling_cannot_be_signed(patient, staff, rooms):
    order, s = two_sessions_at_half(patient, staff, rooms)
    for dose, message in ((Decimal("1.0"), "above the plan's ceiling"), (Decimal("0.6"), "not a step of the plan")):
        with pytest.raises(TreatmentError) as e:
            services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=dose, override_reason="reason")
        assert message in e.value.errors["dose"]
    assert not DoseDecision.objects.filter(session=s).exists()


def test_no_proposal_while_the_previous_session_is_unsigned(patient, staff, rooms):
    order, s = two_sessions_at_half(patient, staff, rooms, sign_last=False)
    assert services.propose_for(s).problem.startswith("Session 2 is not signed yet")
    with pytest.raises(TreatmentError) as e:
        services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.75"))
    assert "Session 2 is not signed yet" in e.value.errors["dose"]


def test_vomiting_at_the_last_session_steps_down(patient, staff, rooms):
    clinic_open(patient.clinic)
    order = make_order(patient, staff, TITRATED_IV)
    first = dosed_session(patient, staff, order=order, rooms=rooms, start=open_day(patient.clinic, -2),
                          end="stopped")
    with time_at(first.dose_started_at + timedelta(minutes=50)):
        ae = services.add_adverse_event(actor=actor(staff["nurse"]), session=first, data={
            "kind": "vomiting", "severity": "mild", "description": "Vomited once"})
        services.resolve_adverse_event(actor=actor(staff["nurse"]), session=first, event_id=ae.pk)
    s = book_now(order, staff, rooms)
    # the first session was signed at 0.5 (the lowest step): hold for the prescriber, not below the ladder
    with time_at(first.dose_started_at + timedelta(minutes=60)):
        signed(discharged(first, staff), staff)
    shown = services.propose_for(s)
    assert shown.proposal.summary == "Stay at 0.5 mg/kg" and shown.proposal.step_down
    assert any("mild vomiting" in r.text for r in shown.proposal.reasons)


def test_the_cockpit_shows_the_proposal_to_sign_and_the_nurse_waits(patient, staff, rooms, client_for):
    order, s = two_sessions_at_half(patient, staff, rooms)
    s = ready_for_dose(s, staff)
    url = reverse("treatments:cockpit", args=[s.external_id])
    page = client_for("prescriber").get(url).content.decode()
    assert "Proposed: Step up to 0.75 mg/kg" in page and "Sign this dose" in page
    nurse_page = client_for("nurse").get(url).content.decode()
    assert "Waiting for the prescriber to sign" in nurse_page and "Sign this dose" not in nurse_page
    sign = reverse("treatments:sign_dose", args=[s.external_id])
    assert client_for("nurse").post(sign, {"dose": "0.75"}).status_code == 403
    client_for("prescriber").post(sign, {"dose": "0.75"})
    page = client_for("nurse").get(url).content.decode()
    assert "Dose for this session: <b>0.75 mg/kg</b>" in page


def time_at(moment):
    from tests.factories import back_at

    return back_at(moment)


def test_the_order_and_the_chart_show_dose_dissociation_and_response_together(patient, staff, rooms, client_for):
    order, s = two_sessions_at_half(patient, staff, rooms)
    services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("0.75"))
    page = client_for("prescriber").get(reverse("treatments:order", args=[order.external_id])).content.decode()
    assert "Dose, dissociation and response" in page
    assert "0.5 mg/kg → 0.75 mg/kg; start 0.5 mg/kg; ceiling 0.75 mg/kg" in page
    assert "16 (-20%)" in page  # PHQ-9 after session 2, from a baseline of 20
    chart = client_for("nurse").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert "Dose, dissociation and response" in chart
    desk = client_for("front_desk").get(reverse("treatments:order", args=[order.external_id])).content.decode()
    assert "Dose, dissociation and response" not in desk


def test_a_new_series_is_judged_against_its_own_baseline(patient, staff, rooms):
    phq9_at(patient, staff, 24, timezone.now() - timedelta(days=90), timing="baseline")  # an earlier series' consult
    order, s = two_sessions_at_half(patient, staff, rooms)
    assert any("PHQ-9 20 → 16" in r.text for r in services.propose_for(s).proposal.reasons)


def test_a_dose_signed_ahead_no_longer_holds_once_another_session_is_dosed(patient, staff, rooms):
    """Signed for a later session while an earlier one was still to come: after the earlier one is dosed (and
    before its note is signed) the nurse cannot prepare the stale dose; the prescriber must sign again."""
    clinic = patient.clinic
    clinic_open(clinic)
    first, second, between = open_day(clinic, -5), open_day(clinic, -3), open_day(clinic, -1)
    order = make_order(patient, staff, TITRATED_IV)
    phq9_at(patient, staff, 20, first - timedelta(days=1), timing="baseline")
    dosed_session(patient, staff, order=order, rooms=rooms, start=first, end="signed")
    dosed_session(patient, staff, order=order, rooms=rooms, start=second, end="signed")
    phq9_at(patient, staff, 17, second + timedelta(hours=8))
    later = book_now(order, staff, rooms)
    with back_at(second + timedelta(hours=9)):  # signed ahead, from sessions 1 and 2
        services.sign_dose(actor=actor(staff["prescriber"]), session=later, dose=Decimal("0.75"))
    with back_at(between):  # a third session is given in between; its note is not signed yet
        third = book_at(order, staff, between, room=rooms["infusion"])
        third = dosing_stopped(dosing_started(ready_to_start(third, staff), staff), staff)
    later = ready_for_dose(later, staff)
    with pytest.raises(TreatmentError, match="no longer holds"):
        dose_prepared(later, staff)
    shown = services.propose_for(later)
    assert not shown.signed_holds and f"Session {third.sequence} is not signed yet" in shown.problem


def test_the_first_trd_esketamine_session_is_56_mg_whatever_the_reason(patient, staff, rooms):
    order = make_order(patient, staff, ESK | {"titrate": True})
    s = book_now(order, staff, rooms)
    with pytest.raises(TreatmentError) as e:
        services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("84"),
                           override_reason="Patient wants the higher dose")
    assert "84 mg is used only after the 56 mg start" in e.value.errors["dose"]


def test_no_step_up_without_a_score_before_the_series_began(patient, staff, rooms):
    clinic_open(patient.clinic)
    first, second = open_day(patient.clinic, -4), open_day(patient.clinic, -2)
    order = make_order(patient, staff, TITRATED_IV)
    dosed_session(patient, staff, order=order, rooms=rooms, start=first, end="signed")
    phq9_at(patient, staff, 10, first + timedelta(hours=8))  # after dosing began: not a baseline
    dosed_session(patient, staff, order=order, rooms=rooms, start=second, end="signed")
    phq9_at(patient, staff, 9, second + timedelta(hours=8))
    shown = services.propose_for(book_now(order, staff, rooms))
    assert shown.proposal.summary == "Stay at 0.5 mg/kg" and not shown.proposal.step_up_criteria_met
    assert any("No PHQ-9 baseline" in r.text for r in shown.proposal.reasons)


def test_a_signed_dose_above_the_clinics_range_is_prepared_by_the_nurse_with_the_prescribers_reason(
        patient, staff, rooms):
    data = TITRATED_IV | {"titration_steps": [Decimal("0.5"), Decimal("0.75"), Decimal("1.0")]}
    clinic_open(patient.clinic)
    first = open_day(patient.clinic, -3)
    order = make_order(patient, staff, data)
    phq9_at(patient, staff, 20, first - timedelta(days=1), timing="baseline")
    dosed_session(patient, staff, order=order, rooms=rooms, start=first, end="signed")
    s = book_now(order, staff, rooms)
    with pytest.raises(TreatmentError) as e:
        services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("1.0"))
    refusal = e.value.errors["override_reason"]
    assert "differs from the proposal" in refusal and "outside the clinic's IV range 0.1 mg/kg to 0.75" in refusal
    services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("1.0"),
                       override_reason="Non-response at 0.5 and 0.75 mg/kg in a previous series.")
    s = dose_prepared(ready_for_dose(s, staff), staff)  # the nurse prepares it: the reason is the prescriber's
    assert (s.dose_mg_per_kg, s.prepared_dose_mg) == (Decimal("1.000"), Decimal("70.00"))


def test_the_cockpit_and_the_order_page_read_a_longer_series_in_the_same_queries(patient, staff, rooms, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order, s = two_sessions_at_half(patient, staff, rooms)
    ahead = book_at(order, staff, open_day(patient.clinic, 2), room=rooms["infusion"])
    pages = (reverse("treatments:cockpit", args=[ahead.external_id]),
             reverse("treatments:order", args=[order.external_id]))

    def counts():
        out = []
        prescriber = client_for("prescriber")  # signed in afresh: the journey below moves the clock on
        prescriber.get(pages[1])  # the session's first request (sign-in bookkeeping) is not counted
        for url in pages:
            with CaptureQueriesContext(connection) as ctx:
                assert prescriber.get(url).status_code == 200
            out.append(len(ctx))
        return out

    before = counts()  # two dosed sessions in the series
    signed(discharged(dosing_stopped(dosing_started(ready_to_start(s, staff), staff), staff), staff), staff)
    assert counts() == before  # three
