"""Print views: the session record, the day's schedule, the Today board and the patient's chart print on A4 and
on US Letter without the menus, buttons or forms, nothing wider than the paper, and the dimmed-room theme prints
light."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import dosed_session, make_rooms
from tests.pdfread import pdf_text

#: The printable width in CSS px at 96 px per inch, less the 12 mm margins on each side.
PAPER = {"A4": round((210 - 24) / 25.4 * 96), "Letter": round((8.5 * 25.4 - 24) / 25.4 * 96)}


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_staff_pages_print_on_the_paper(page, live_server, login, clinic, staff, make_patient, paper):
    s = dosed_session(make_patient(legal_given_name="Rowan", legal_family_name="Printby"), staff,
                      rooms=make_rooms(clinic), end="discharged")
    page.clock.set_system_time(timezone.now())
    login("nurse")
    page.evaluate("() => localStorage.setItem('kc-theme', 'dim')")  # a dimmed tablet still prints light
    for path in (f"/records/sessions/{s.external_id}/", "/treatments/", "/", f"/patients/{s.patient.external_id}/"):
        page.set_viewport_size({"width": PAPER[paper], "height": 1000})
        page.emulate_media(media="print")
        assert page.goto(f"{live_server.url}{path}").status == 200
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PAPER[paper], path
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)", path
        text = pdf_text(page.pdf(format=paper, print_background=True))
        assert "Sign out" not in text and "Dimmed room" not in text, path
        assert "Rowan Printby" in text, path
