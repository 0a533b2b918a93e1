"""The Today page is polled every 30 s by every screen in the clinic: its query count must not grow with the
number of patients on the board."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.treatments import services
from tests.treatments.factories import IV, actor, book_now, checked_in, make_order, ready_to_start


def _today_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("clinic:today"), HTTP_HX_REQUEST="true", HTTP_X_BACKGROUND_POLL="1")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_today_board_queries_do_not_grow_with_patients(make_patient, staff, rooms, client_for, clinic):
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room

    room_b = add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Infusion Room B",
                      kind=Room.Kind.INFUSION, chairs=2)
    b1, b2 = room_b.chairs.order_by("label")
    rooms = {**rooms, "b1": b1, "b2": b2}
    nurse = client_for("nurse")
    first = ready_to_start(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["a1"]), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=first)
    nurse.get(reverse("clinic:today"))  # warm the session
    small = _today_queries(nurse)
    # Three more patients in other chairs and phases, with readings.
    second = ready_to_start(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["a2"]), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=second)
    services.add_vitals(actor=actor(staff["nurse"]), session=second,
                        values={"systolic_mmHg": "185", "diastolic_mmHg": "100"})
    checked_in(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["b1"]), staff)
    book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["b2"])
    large = _today_queries(nurse)
    # 17, +1 (issue 20): one query for the pump events of every running infusion at once (the minutes it has left)
    assert small == large == 18, f"Today page: {small} queries with 1 patient, {large} with 4"
