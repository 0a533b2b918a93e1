"""The prescriber's Today page names each patient whose HOLD or STOP reading no prescriber has seen yet: the level,
who, where (room and chair) and a link to that session's vitals, one line each, until a prescriber records that
they have seen it. (The panel once showed its title over an empty list.)"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ketaclinic.treatments import services
from tests.treatments.factories import IV, actor, book_now, checked_in, make_order, prechecked, predose_vitals

pytestmark = pytest.mark.django_db


def _panel(client) -> str:
    html = client.get(reverse("clinic:today")).content.decode()
    if "the prescriber is needed" not in html:
        return ""
    start = html.index("the prescriber is needed")
    return re.sub(r"\s+", " ", html[start:html.index("</section>", start)])


def _held(make_patient, staff, rooms, chair, name, bp):
    s = prechecked(checked_in(book_now(make_order(make_patient(legal_given_name=name), staff, IV), staff, rooms,
                                       chair=rooms[chair]), staff), staff)
    return s, predose_vitals(s, staff, bp=bp)


def test_each_unseen_alert_is_a_line_with_the_patient_the_chair_and_the_way_to_its_vitals(
        make_patient, staff, rooms, client_for):
    hold, hold_reading = _held(make_patient, staff, rooms, "a1", "Holly", ("172", "96"))
    stop, stop_reading = _held(make_patient, staff, rooms, "a2", "Stefan", ("200", "125"))
    assert (hold_reading.level, stop_reading.level) == (2, 3)
    prescriber = client_for("prescriber")
    panel = _panel(prescriber)
    lines = re.findall(r"<li>(.*?)</li>", panel)
    assert len(lines) == 2, panel
    (holly,) = [line for line in lines if "Holly" in line]
    (stefan,) = [line for line in lines if "Stefan" in line]
    assert "<b>HOLD</b>" in holly and "Infusion Room A Chair 1" in holly, holly
    assert "<b>STOP</b>" in stefan and "Infusion Room A Chair 2" in stefan, stefan
    assert f'href="{reverse("treatments:cockpit", args=[hold.external_id])}#vitals"' in holly
    assert f'href="{reverse("treatments:cockpit", args=[stop.external_id])}#vitals"' in stefan

    services.acknowledge_alert(actor=actor(staff["prescriber"]), session=hold, reading_id=hold_reading.pk)
    lines = re.findall(r"<li>(.*?)</li>", _panel(prescriber))
    assert len(lines) == 1 and "Stefan" in lines[0], lines
    services.acknowledge_alert(actor=actor(staff["prescriber"]), session=stop, reading_id=stop_reading.pk)
    assert _panel(prescriber) == ""
