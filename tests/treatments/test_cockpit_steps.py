"""Each cockpit step is its own view, reading its POST with a form: a refused entry is a message next to the
cockpit section and changes nothing; each use case commits in its own transaction."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    AdverseEvent,
    PredoseOverride,
    SessionEvent,
    SessionRating,
    TreatmentSession,
)
from tests.treatments.factories import (
    actor,
    book_now,
    checked_in,
    let_time_pass,
    make_order,
    prechecked,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

MILD = {"systolic_mmHg": "150", "diastolic_mmHg": "92", "heart_rate_bpm": "80", "spo2_percent": "98"}


def _checked_in(patient, staff, rooms, chair="a1"):
    return checked_in(book_now(make_order(patient, staff), staff, rooms, chair=rooms[chair]), staff)


def _post(client, name, s, data):
    return client.post(reverse(f"treatments:{name}", args=[s.external_id]), data)


def _shown(client, response) -> str:
    return client.get(response["Location"]).content.decode()


# ------------------------------------------------------------------------------------------ transactions
def test_a_use_case_commits_on_its_own_and_is_composed_only_through_within(patient, staff, rooms):
    s = book_now(make_order(patient, staff), staff, rooms)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.check_in(actor=actor(staff["front_desk"]), session=s)
    s.refresh_from_db()
    assert s.status == TreatmentSession.Status.BOOKED
    with transaction.atomic():  # a caller's transaction (the demo loader, another use case)
        services.check_in.within(actor=actor(staff["front_desk"]), session=s)
    s.refresh_from_db()
    assert s.status == TreatmentSession.Status.CHECKED_IN


def test_a_refused_step_inside_a_composed_use_case_undoes_the_whole_use_case(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    with pytest.raises(services.TreatmentError, match="Administered dose"):
        services.transfer_to_emergency(actor=actor(staff["nurse"]), session=s, note="Ambulance to ED",
                                       adverse_event={"kind": "hypertension", "severity": "severe"},
                                       administered_mg="9999")
    s.refresh_from_db()
    assert s.status == TreatmentSession.Status.DOSING and not AdverseEvent.objects.filter(session=s).exists()


# ------------------------------------------------------------------------------------------ form refusals
def test_every_step_answers_back_at_its_cockpit_section(patient, staff, rooms, client_for):
    s = _checked_in(patient, staff, rooms)
    nurse = client_for("nurse")
    for name, section in (("prechecks", "prechecks"), ("prepare_dose", "dose"), ("pause_dose", "during"),
                          ("adverse_event", "adverse"), ("rating", "rating"), ("observation", "observation"),
                          ("discharge", "discharge"), ("rems_monitoring", "rems"), ("addendum", "sign")):
        r = _post(nurse, name, s, {})
        assert r.status_code == 302 and r["Location"].endswith(f"/treatments/sessions/{s.external_id}/#{section}")
    assert nurse.get(reverse("treatments:observation", args=[s.external_id])).status_code == 405


def test_a_too_long_escort_name_is_refused_not_cut(patient, staff, rooms, client_for):
    s = _checked_in(patient, staff, rooms)
    nurse = client_for("nurse")
    r = _post(nurse, "prechecks", s, {"identity_confirmed": "on", "escort_name": "L" * 121,
                                      "escort_phone": "(303) 555-0111"})
    assert "Escort name must be at most 120 characters (it has 121)" in _shown(nurse, r)
    s.refresh_from_db()
    assert not s.identity_confirmed and s.escort_phone != "(303) 555-0111"


def test_an_override_naming_another_sessions_reading_is_refused(patient, make_patient, staff, rooms, client_for):
    s = prechecked(_checked_in(patient, staff, rooms), staff)
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values=MILD)
    other = prechecked(_checked_in(make_patient(), staff, rooms, chair="a2"), staff)
    elsewhere = services.add_vitals(actor=actor(staff["nurse"]), session=other, values=MILD)
    prescriber = client_for("prescriber")
    r = _post(prescriber, "override_hold", s, {"kind": "vitals", "reading": elsewhere.pk,
                                               "reason": "Reviewed the reading, proceed."})
    assert "That reading is not recorded in this session" in _shown(prescriber, r)
    assert not PredoseOverride.objects.exists()


@pytest.mark.parametrize("data,shown", [
    ({"scale": "moaas", "timepoint": "peak", "moaas-level": "9"}, "MOAA/S level must be from 0 to 5"),
    ({"scale": "moaas", "timepoint": "peak", "moaas-level": "-1"}, "MOAA/S level must be a whole number"),
    ({"scale": "bprs", "timepoint": "peak"}, "Choose CADSS or MOAA/S"),
    ({"scale": "moaas", "timepoint": "sometime", "moaas-level": "4"}, "Choose when the rating was made"),
])
def test_an_impossible_rating_is_a_message(patient, staff, rooms, client_for, data, shown):
    s = _checked_in(patient, staff, rooms)
    nurse = client_for("nurse")
    assert shown in _shown(nurse, _post(nurse, "rating", s, data))
    assert not SessionRating.objects.filter(session=s).exists()
    r = _post(nurse, "rating", s, {"scale": "moaas", "timepoint": "peak", "moaas-level": "4"})
    assert "MOAA/S: 4" in _shown(nurse, r)


def test_an_unknown_adverse_event_or_signing_role_is_a_message(patient, staff, rooms, client_for):
    s = _checked_in(patient, staff, rooms)
    nurse = client_for("nurse")
    assert "Choose the adverse event" in _shown(nurse, _post(nurse, "adverse_event", s, {"kind": "werewolf"}))
    assert not AdverseEvent.objects.filter(session=s).exists()
    r = _post(nurse, "adverse_event", s, {"kind": "nausea"})  # severity left out: mild, as the model says
    assert "Adverse event recorded" in _shown(nurse, r)
    assert AdverseEvent.objects.get(session=s).severity == AdverseEvent.Severity.MILD
    assert _post(nurse, "cosign", s, {}).status_code == 403  # co-signing is the prescriber's


def test_an_unreadable_administered_dose_leaves_the_infusion_running(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    let_time_pass(40)  # the infusion runs its 40 minutes
    nurse = client_for("nurse")
    r = _post(nurse, "stop_dose", s, {"administered_mg": "1e3"})
    assert "Administered dose (mg) must be a plain number" in _shown(nurse, r)
    s.refresh_from_db()
    assert s.dose_ended_at is None and not s.events.filter(kind=SessionEvent.Kind.STOP).exists()
    r = _post(nurse, "stop_dose", s, {"administered_mg": "35"})
    s.refresh_from_db()
    assert s.administered_mg == 35 and "Stopped / finished." in _shown(nurse, r)
    assert AuditEntry.objects.filter(action="session.dose.stop", patient=patient).count() == 1
