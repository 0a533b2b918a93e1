"""The cockpit by keyboard: the first Tab on Today reaches "Skip to content", which lands in the main content; the
cockpit opens mid-dose with the cursor in the next reading's first field; the
HOLD flag in the at-a-glance bar is a link that takes the nurse to the alert and its steps; the dimmed-room switch
works with the space bar; and the landmarks (banner, main navigation, main) are there for a screen reader."""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.treatments import services
from tests.factories import actor, dosed_session, let_time_pass, make_rooms


def test_the_cockpit_works_from_the_keyboard(page, live_server, login, clinic, staff, make_patient, console_errors):
    s = dosed_session(make_patient(legal_given_name="Rowan", legal_family_name="Keyby"), staff,
                      rooms=make_rooms(clinic), end="dosing")
    let_time_pass(10)
    services.add_vitals(actor=actor(staff["nurse"]), session=s,
                        values={"systolic_mmHg": "186", "diastolic_mmHg": "112", "heart_rate_bpm": "84"})
    page.clock.set_system_time(timezone.now())
    login("nurse")  # Today
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    expect(page.get_by_role("banner")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("main")).to_be_visible()
    # dosing: the cockpit opens ready to type the next reading
    expect(page.get_by_role("form", name="New vitals row").get_by_label("Systolic")).to_be_focused()

    flag = page.get_by_role("region", name="At a glance").get_by_role("link", name=re.compile(r"^HOLD: 186\/112 at"))
    flag.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#vitals-alerts$"))
    expect(page.locator("#vitals-alerts [role=alert]")).to_be_in_viewport()
    expect(page.locator("#vitals-alerts [role=alert]")).to_contain_text("Vital signs at HOLD")

    switch = page.get_by_role("button", name="Dimmed room")
    switch.focus()
    page.keyboard.press(" ")
    expect(page.locator("html")).to_have_class(re.compile(r"\btheme-dim\b"))
    expect(switch).to_have_attribute("aria-pressed", "true")
    assert console_errors == []
