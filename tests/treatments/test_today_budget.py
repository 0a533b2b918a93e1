"""The Today page is polled every 30 s by every screen in the clinic: its query count must not grow with the
number of patients on the board, whatever each tile shows (the board reads only the columns it names,
ketaclinic/treatments/today.py BOARD_FIELDS: one it forgot would be read again for every tile), for the nurse
and for the prescriber, whose page also lists the HOLD and STOP readings no prescriber has seen."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import (
    ESK,
    IM,
    IV,
    book_now,
    checked_in,
    clinic_open,
    make_order,
    normal_vitals,
    ready_to_start,
)


def _today_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("clinic:today"), HTTP_HX_REQUEST="true", HTTP_X_BACKGROUND_POLL="1")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_today_board_queries_do_not_grow_with_patients(make_patient, staff, rooms, client_for, actor_for,
                                                        clinic):
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room

    room_b = add_room(actor=actor_for("clinic_admin"), clinic=clinic, name="Infusion Room B",
                      kind=Room.Kind.INFUSION, chairs=4)
    b1, b2, b3, b4 = room_b.chairs.order_by("label")
    rooms = {**rooms, "b1": b1, "b2": b2, "b3": b3, "b4": b4}
    clinic_open(clinic)  # the board's sessions are booked now: a time the clinic books (the clock may move on to one)
    nurse = client_for("nurse")
    first = ready_to_start(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["a1"]), staff)
    services.start_dose(actor=actor_for("nurse"), session=first)
    nurse.get(reverse("clinic:today"))  # warm the session
    small = _today_queries(nurse)
    # Three more patients in other chairs and phases, with readings.
    second = ready_to_start(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["a2"]), staff)
    services.start_dose(actor=actor_for("nurse"), session=second)
    services.add_vitals(actor=actor_for("nurse"), session=second,
                        values={"systolic_mmHg": "185", "diastolic_mmHg": "100"})
    checked_in(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["b1"]), staff)
    book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["b2"])
    large = _today_queries(nurse)
    prescriber = client_for("prescriber")  # who also sees the panel of HOLD and STOP readings not yet seen
    prescriber.get(reverse("clinic:today"))  # warm the session
    one_alert = _today_queries(prescriber)
    # The other tiles of a dosing day: an infusion the nurse paused, an IM injection in observation (ready from, next
    # vitals due) with a second HOLD, and two esketamine sessions at their first device, each with a reading.
    paused = ready_to_start(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["b3"]), staff)
    services.start_dose(actor=actor_for("nurse"), session=paused)
    services.dosing_event(actor=actor_for("nurse"), session=paused, kind="pause")
    injected = ready_to_start(book_now(make_order(make_patient(), staff, IM), staff, rooms, chair=rooms["b4"]), staff)
    injected = services.start_dose(actor=actor_for("nurse"), session=injected)
    services.add_vitals(actor=actor_for("nurse"), session=injected,
                        values={"systolic_mmHg": "185", "diastolic_mmHg": "100"})  # a second HOLD to be seen
    for chair in (rooms["s1"], rooms["s2"]):
        esk = ready_to_start(book_now(make_order(make_patient(), staff, ESK), staff, rooms, chair=chair), staff)
        normal_vitals(services.start_dose(actor=actor_for("nurse"), session=esk), staff)
    statuses = sorted((s.route, s.status, s.paused_at is None) for s in TreatmentSession.objects.all())
    assert statuses == [("im", "observation", True), ("intranasal", "dosing", True), ("intranasal", "dosing", True),
                        ("iv", "booked", True), ("iv", "checked_in", True), ("iv", "dosing", False),
                        ("iv", "dosing", False), ("iv", "dosing", True)], statuses  # the HOLD paused the second
    every_kind = _today_queries(nurse)
    two_alerts = _today_queries(prescriber)
    # the nurse's 18 and the prescriber's panels (safety tasks): the alert lines read nothing more
    assert one_alert == two_alerts == 19, (
        f"the prescriber's Today: {one_alert} queries with one alert, {two_alerts} with two")
    # 17, +1 (issue 20): one query for the pump events of every running infusion at once (the minutes it has left)
    assert small == large == every_kind == 18, (
        f"Today page: {small} queries with 1 patient, {large} with 4, {every_kind} with 8")
