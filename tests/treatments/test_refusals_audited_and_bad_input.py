"""Security review of the treatment journey: refusals kept in the audit trail, no open redirect, absurd numbers,
ids and dates are messages (never a server error), self co-signing refused, list reads audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.inputs import InputError, parse_day, parse_decimal
from ketaclinic.treatments import services
from ketaclinic.treatments.models import AdverseEvent, RemsForm, TreatmentOrder, TreatmentSession
from ketaclinic.treatments.services import TreatmentError
from tests.treatments.factories import (
    ESK,
    IV,
    actor,
    book_now,
    checked_in,
    drug_accounted,
    make_eligible,
    make_order,
    prechecked,
)
from tests.treatments.test_services import _dosed

pytestmark = pytest.mark.django_db


def _prepared(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff), staff, rooms), staff), staff)
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "v", "lot_number": "L"})
    s.refresh_from_db()
    return s


def _errors(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------------------ A: refusals audited
def test_refused_verifications_are_kept_in_the_audit_trail(patient, staff, rooms, client_for):
    s = _prepared(patient, staff, rooms)
    r1 = client_for("nurse").post(reverse("treatments:verify", args=[s.external_id]),
                                  {"weight_kg": "70", "dose_mg": "35"})
    r2 = client_for("prescriber").post(reverse("treatments:verify", args=[s.external_id]),
                                       {"weight_kg": "70", "dose_mg": "350"})
    assert r1.status_code == r2.status_code == 200
    assert "second clinician" in _errors(r1) and "does not match" in _errors(r2)
    refused = list(AuditEntry.objects.filter(action="session.dose.verification_refused").order_by("seq"))
    assert [e.actor for e in refused] == [staff["nurse"], staff["prescriber"]]
    assert refused[0].details["reason"] == "same user as preparer" and refused[0].patient == patient
    assert "dose_mg" in refused[1].details["errors"] and refused[1].details["entered_mg"] == "350.00"
    s.refresh_from_db()
    assert s.verified_at is None  # nothing else changed


def test_refused_verification_raises_and_keeps_nothing_but_the_audit_entry(patient, staff, rooms):
    s = _prepared(patient, staff, rooms)
    with pytest.raises(TreatmentError, match="does not match"):
        services.verify_dose(actor=actor(staff["prescriber"]), session=s, weight_kg="70", dose_mg="34")
    s.refresh_from_db()
    assert s.verified_at is None and s.verified_by is None
    assert AuditEntry.objects.filter(action="session.dose.verification_refused").count() == 1
    services.verify_dose(actor=actor(staff["prescriber"]), session=s, weight_kg="70", dose_mg="35",
                         concentration_mg_per_mL="50", bag_volume_mL="100")
    s.refresh_from_db()
    assert s.verified_by == staff["prescriber"]


# ------------------------------------------------------------------------------------------ B: open redirect
@pytest.mark.parametrize("nxt", ["https://evil.example/phish", "//evil.example/x", "javascript:alert(1)"])
def test_check_in_never_redirects_off_site(patient, staff, rooms, client_for, nxt):
    s = book_now(make_order(patient, staff), staff, rooms)
    r = client_for("front_desk").post(reverse("treatments:check_in", args=[s.external_id]), {"next": nxt})
    assert r.status_code == 302 and r["Location"] == reverse("treatments:schedule")
    s.refresh_from_db()
    assert s.status == "checked_in"


def test_check_in_returns_to_a_page_on_this_site(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff), staff, rooms)
    back = reverse("treatments:cockpit", args=[s.external_id])
    r = client_for("front_desk").post(reverse("treatments:check_in", args=[s.external_id]), {"next": back})
    assert r["Location"] == back


# ------------------------------------------------------------------------------------------ C: absurd numbers
@pytest.mark.parametrize("value", ["1e30", "1e40", "9" * 40, "NaN", "-Infinity", "sNaN", "1_000", "0x10"])
def test_strict_decimal_parser_refuses_with_a_message(value):
    with pytest.raises(InputError, match="Weight"):
        parse_decimal(value, "Weight (kg)", max_value=Decimal("9999.99"))


def test_strict_decimal_parser_accepts_plain_numbers():
    assert parse_decimal(" 70,456 ", "Weight (kg)", max_value=Decimal("9999.99")) == Decimal("70.46")
    assert parse_decimal("", "Weight (kg)", max_value=Decimal(1)) is None


def test_huge_bag_volume_on_a_new_order_is_a_message(patient, staff, client_for):
    make_eligible(patient, staff)
    c = client_for("prescriber")
    c.raise_request_exception = False
    for bad in ("1e30", "9" * 40, "NaN"):
        r = c.post(reverse("treatments:order_new", args=[patient.external_id]), {**IV, "bag_volume_mL": bad})
        assert r.status_code == 200 and "Bag volume (mL) must be" in _errors(r)
    assert not TreatmentOrder.objects.filter(patient=patient).exists()


def test_huge_weight_at_prechecks_is_a_message(patient, staff, rooms, client_for):
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    c = client_for("nurse")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:prechecks", args=[s.external_id]), {"weight_kg": "1e40"}, follow=True)
    assert r.status_code == 200 and "Weight (kg) must be" in _errors(r)
    s.refresh_from_db()
    assert s.weight_kg is None


def test_forty_nines_as_the_verified_dose_is_a_refusal(patient, staff, rooms, client_for):
    s = _prepared(patient, staff, rooms)
    c = client_for("prescriber")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:verify", args=[s.external_id]), {"weight_kg": "70", "dose_mg": "9" * 40})
    assert r.status_code == 200 and "Dose (mg) must be" in _errors(r)
    s.refresh_from_db()
    assert s.verified_at is None


def test_huge_rate_and_administered_dose_are_messages(patient, staff, rooms):
    from tests.treatments.factories import ready_to_start

    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    with pytest.raises(TreatmentError) as e:
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="rate", rate="1e30")
    assert "rate" in e.value.errors
    with pytest.raises(TreatmentError) as e:
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop", administered_mg="Infinity")
    assert "administered_mg" in e.value.errors
    with pytest.raises(TreatmentError, match="Dosing has started"):
        services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
            "concentration_mg_per_mL": "1e30", "vial_or_device": "v", "lot_number": "L"})


# ------------------------------------------------------------------------------------------ D: unknown ids
@pytest.mark.parametrize("event", ["999999", "9" * 40, "abc", ""])
def test_resolving_an_unknown_adverse_event_is_a_message(patient, staff, rooms, client_for, event):
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    services.add_adverse_event(actor=actor(staff["nurse"]), session=s, data={"kind": "nausea", "severity": "mild"})
    c = client_for("nurse")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:resolve_adverse_event", args=[s.external_id]), {"event": event}, follow=True)
    assert r.status_code == 200 and "not recorded in this session" in _errors(r)
    assert AdverseEvent.objects.get(session=s).resolved_at is None


def test_another_sessions_adverse_event_cannot_be_resolved(patient, make_patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    other = checked_in(book_now(make_order(make_patient(), staff), staff, rooms, chair=rooms["a2"]), staff)
    ae = services.add_adverse_event(actor=actor(staff["nurse"]), session=other, data={"kind": "nausea"})
    with pytest.raises(TreatmentError, match="not recorded"):
        services.resolve_adverse_event(actor=actor(staff["nurse"]), session=s, event_id=ae.pk)
    services.resolve_adverse_event(actor=actor(staff["nurse"]), session=other, event_id=str(ae.pk))


def test_huge_chair_and_reading_ids_are_not_server_errors(patient, staff, rooms, client_for):
    order = make_order(patient, staff)
    c = client_for("front_desk")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:book", args=[order.external_id]),
               {"date": timezone.localdate().isoformat(), "time": "10:00", "chair": "9" * 40})
    assert r.status_code == 302
    s = checked_in(book_now(order, staff, rooms), staff)
    p = client_for("prescriber")
    p.raise_request_exception = False
    r = p.post(reverse("treatments:override_hold", args=[s.external_id]),
               {"reading": "9" * 40, "reason": "Reviewed, proceed."})
    assert r.status_code == 302


# ------------------------------------------------------------------------------------------ E: REMS minutes
@pytest.mark.parametrize("minutes", ["9" * 30, "1441", "100000"])
def test_rems_ready_to_leave_minutes_are_bounded(patient, staff, rooms, minutes):
    s = _dosed(patient, staff, rooms, ESK)
    with pytest.raises(TreatmentError) as e:
        services.update_rems(actor=actor(staff["nurse"]), session=s, data={"ready_to_leave_minutes": minutes})
    assert "from 0 to 1440" in e.value.errors["ready_to_leave_minutes"]
    services.update_rems(actor=actor(staff["nurse"]), session=s, data={"ready_to_leave_minutes": "1440"})
    assert RemsForm.objects.get(session=s).ready_to_leave_minutes == 1440


def test_rems_minutes_through_the_page_are_a_message(patient, staff, rooms, client_for):
    s = _dosed(patient, staff, rooms, ESK)
    c = client_for("nurse")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:rems_monitoring", args=[s.external_id]), {"ready_to_leave_minutes": "9" * 30},
               follow=True)
    assert r.status_code == 200 and "1440" in _errors(r)


# ------------------------------------------------------------------------------------------ F: dates
@pytest.mark.parametrize("raw,shown", [("9999-12-31", "too far ahead"), ("0001-01-01", "too far in the past"),
                                       ("2024-02-30", "not a date"), ("+99999-01-01", "not a date")])
def test_schedule_with_an_absurd_date_is_a_message(client_for, raw, shown):
    c = client_for("front_desk")
    c.raise_request_exception = False
    r = c.get(reverse("treatments:schedule") + f"?date={raw}")
    assert r.status_code == 200 and shown in _errors(r)


def test_order_page_with_an_absurd_start_is_a_message(patient, staff, client_for):
    order = make_order(patient, staff)
    c = client_for("front_desk")
    c.raise_request_exception = False
    for raw in ("9999-12-31", "0001-01-01"):
        r = c.get(reverse("treatments:order", args=[order.external_id]) + f"?start={raw}")
        assert r.status_code == 200 and "too far" in _errors(r)


def test_booking_on_an_absurd_date_is_refused(patient, staff, client_for):
    order = make_order(patient, staff)
    c = client_for("front_desk")
    c.raise_request_exception = False
    r = c.post(reverse("treatments:book", args=[order.external_id]),
               {"date": "9999-12-31", "time": "23:30", "chair": "", "minutes": "600"}, follow=True)
    assert r.status_code == 200 and "Not booked: Enter a date on or before" in _errors(r)
    assert not TreatmentSession.objects.filter(order=order).exists()


def test_parse_day_clamps_to_the_window():
    today = timezone.localdate()
    assert parse_day("", today=today, default=today) == (today, "")
    assert parse_day(today.isoformat(), today=today, default=today) == (today, "")
    day, msg = parse_day("9999-12-31", today=today, default=today)
    assert day <= today + timedelta(days=2 * 366) and "too far ahead" in msg


# ------------------------------------------------------------------------------------------ G: co-signing
def test_one_person_cannot_sign_as_nurse_and_co_sign_as_prescriber(patient, staff, rooms, make_user):
    both = make_user("nurse", "prescriber", username="np")
    s = _dosed(patient, staff, rooms)
    s = services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Test: early discharge.")
    drug_accounted(s, staff)
    services.sign_note(actor=actor(both), session=s, as_role="nurse", summary="Uneventful infusion.")
    with pytest.raises(TreatmentError, match="another prescriber"):
        services.sign_note(actor=actor(both), session=s, as_role="prescriber")
    s.refresh_from_db()
    assert s.prescriber_signed_at is None
    refused = AuditEntry.objects.get(action="session.note.signature_refused")
    assert refused.actor == both and refused.patient == patient
    services.sign_note(actor=actor(staff["prescriber"]), session=s, as_role="prescriber")
    s.refresh_from_db()
    assert s.prescriber_signed_by == staff["prescriber"] and s.nurse_signed_by == both


def test_cancel_button_only_for_roles_that_may_cancel(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff), staff, rooms)
    url = reverse("treatments:order", args=[s.order.external_id])
    cancel = reverse("treatments:cancel", args=[s.external_id])
    assert cancel not in client_for("clinic_admin").get(url).content.decode()
    for role in ("front_desk", "prescriber", "nurse"):
        assert cancel in client_for(role).get(url).content.decode()


# ------------------------------------------------------------------------------------------ H: list reads audited
def test_rems_due_list_read_is_audited_per_patient_shown(patient, make_patient, staff, rooms, client_for):
    s = _dosed(patient, staff, rooms, ESK)
    form = RemsForm.objects.get(session=s)
    RemsForm.objects.filter(pk=form.pk).update(status=RemsForm.Status.COMPLETE, due_by=timezone.localdate())
    r = client_for("compliance").get(reverse("treatments:rems_due"))
    assert r.status_code == 200
    entries = list(AuditEntry.objects.filter(action="rems.due_list.viewed"))
    assert len(entries) == 1 and entries[0].patient == patient and entries[0].actor == staff["compliance"]
    assert entries[0].details["patients"] == [str(patient.external_id)]
    assert entries[0].details["sessions"] == [str(s.external_id)]


def test_empty_rems_due_list_read_is_audited(client_for, staff):
    client_for("nurse").get(reverse("treatments:rems_due"))
    e = AuditEntry.objects.get(action="rems.due_list.viewed")
    assert e.patient is None and e.details["patients"] == []
