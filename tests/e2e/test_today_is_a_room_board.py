"""The Today board is a room board: every chair a tile, the tiles side by side across a wide screen and one
under another on a phone, times in plain units, an alert as a word on a coloured flag; no WCAG 2.2 A/AA
violations in either theme."""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.clinic.models import Room
from ketaclinic.clinic.services import add_room
from ketaclinic.treatments import services
from tests.e2e.axe import violations
from tests.e2e.devices import sign_in_on
from tests.e2e.test_pages_pass_axe_in_both_themes import shot
from tests.factories import actor, book_now, dosed_session, make_order, make_rooms

PASSWORD = "correct horse battery"


def _board(clinic, staff, make_patient):
    rooms = make_rooms(clinic)
    room_b = add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Infusion Room B",
                      kind=Room.Kind.INFUSION, chairs=2)
    b1, _ = room_b.chairs.order_by("label")
    held = dosed_session(make_patient(legal_given_name="Rowan", legal_family_name="Heldby"), staff,
                         chair=rooms["a1"], end="dosing")
    services.add_vitals(actor=actor(staff["nurse"]), session=held,
                        values={"systolic_mmHg": "186", "diastolic_mmHg": "112"})
    book_now(make_order(make_patient(legal_given_name="Sasha", legal_family_name="Laterby"), staff), staff, rooms,
             chair=b1)
    return held


def _tile_lefts(page):
    return page.locator(".chair-tile").evaluate_all("ts => ts.map(t => Math.round(t.getBoundingClientRect().left))")


def test_the_board_fills_a_wide_screen_and_stacks_on_a_phone(browser, live_server, clinic, staff, make_patient):
    _board(clinic, staff, make_patient)
    for size, name in (({"width": 1366, "height": 768}, "wide"), ({"width": 1024, "height": 768}, "tablet"),
                       ({"width": 390, "height": 844}, "phone")):
        context = browser.new_context(viewport=size, has_touch=name != "wide")
        context.clock.set_system_time(timezone.now())  # the tablet's clock reads the test's moment too
        page = context.new_page()
        sign_in_on(page, live_server.url, "nurse", PASSWORD)
        tile = page.get_by_role("region", name="Infusion Room A Chair 1")
        expect(tile).to_contain_text("Rowan Heldby")
        expect(tile).to_contain_text(re.compile(r"(under 1 min|\d+ (min|hours?)) since dose start"))
        expect(tile.locator(".flag.hold")).to_have_text("HOLD")
        expect(tile).to_contain_text("infusion paused")  # the HOLD reading paused the pump: no time left to tell
        expect(tile).to_contain_text(re.compile(r"vitals (due in \d+ min|due now|overdue by)"))
        expect(page.get_by_role("region", name="Infusion Room B Chair 1")).to_contain_text("Sasha Laterby")
        lefts = _tile_lefts(page)
        assert len(lefts) >= 4
        if name != "phone":
            assert len(set(lefts)) >= 3, lefts  # three or more tiles side by side
            width = page.locator(".room-board").evaluate("b => b.getBoundingClientRect().width")
            assert width > size["width"] * 0.9  # the board uses the screen
        else:
            assert len(set(lefts)) == 1, lefts  # one column
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        for dim in (False, True):
            page.evaluate("(v) => localStorage.setItem('kc-theme', v)", "dim" if dim else "light")
            page.reload()
            page.wait_for_load_state("networkidle")
            assert violations(page) == []
            shot(page, f"today-{name}-{'dim' if dim else 'light'}")
        context.close()
