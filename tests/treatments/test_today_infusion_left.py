"""The Today board says how long a running infusion has left ("25 min left of the infusion"), from the pump events
and the prepared volume (clinical.dosing.infusion_time_left); a paused one says "infusion paused"; an IM injection
or an esketamine session says nothing of the kind."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from tests.treatments.factories import ESK, IM, IV, actor, book_now, make_order, ready_to_start

pytestmark = pytest.mark.django_db


def _tile(client, name: str) -> str:
    html = client.get(reverse("clinic:today")).content.decode()
    start = html.index(name)
    return re.sub(r"\s+", " ", html[start:html.index("</section>", start)])


def _dosing(make_patient, staff, rooms, data, chair=None, name="Rowan"):
    s = ready_to_start(book_now(make_order(make_patient(legal_given_name=name), staff, data), staff, rooms,
                                chair=chair), staff)
    return services.start_dose(actor=actor(staff["nurse"]), session=s)


def test_a_running_40_minute_infusion_shows_the_minutes_left(make_patient, staff, rooms, client_for, clock):
    s = _dosing(make_patient, staff, rooms, IV)
    assert (s.infusion_minutes, s.route) == (40, "iv")
    clock.move_to(s.dose_started_at + timedelta(minutes=15))
    tile = _tile(client_for("nurse"), "Rowan")
    ends = timezone.localtime(s.dose_started_at + timedelta(minutes=40), s.patient.clinic.tz)
    assert f"25 min left of the infusion <span class=\"small\">(to {ends:%H:%M})</span>" in tile, tile
    assert "infusion paused" not in tile


def test_a_rate_change_and_a_pause_move_the_end(make_patient, staff, rooms, client_for, clock):
    s = _dosing(make_patient, staff, rooms, IV)
    nurse = actor(staff["nurse"])
    start = s.dose_started_at
    clock.move_to(start + timedelta(minutes=10))
    services.dosing_event(actor=nurse, session=s, kind="pause")
    clock.move_to(start + timedelta(minutes=14))
    assert "infusion paused" in _tile(client_for("nurse"), "Rowan")
    services.dosing_event(actor=nurse, session=s, kind="resume")
    clock.move_to(start + timedelta(minutes=20))
    # 16 of the 40 minutes have run: 24 left at the programmed rate
    tile = _tile(client_for("nurse"), "Rowan")
    assert "24 min left of the infusion" in tile and "infusion paused" not in tile, tile


def test_im_and_esketamine_sessions_show_no_infusion_time(make_patient, staff, rooms, client_for, clock):
    _dosing(make_patient, staff, rooms, IM, chair=rooms["a1"], name="Imogen")
    _dosing(make_patient, staff, rooms, ESK, name="Esme")
    clock.shift(timedelta(minutes=5))
    nurse = client_for("nurse")
    for name in ("Imogen", "Esme"):
        tile = _tile(nurse, name)
        assert "left of the infusion" not in tile and "infusion paused" not in tile, tile
