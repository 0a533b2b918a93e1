"""Accessibility as a test: axe-core's WCAG 2.2 A/AA rules find nothing on the pages a nurse uses at the chair
(Today, the cockpit mid-dose with readings, the schedule, patient search) and on the patient portal, in the light
theme and in the dimmed-room theme; and the dimmed-room switch is remembered on the device."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.accounts.models import User
from ketaclinic.measures import services as measures
from ketaclinic.portal.models import PatientAccount
from ketaclinic.treatments import services
from tests.e2e.axe import violations
from tests.factories import actor, dosed_session, let_time_pass, make_rooms


def _dim(page, on: bool):
    page.evaluate("(v) => localStorage.setItem('kc-theme', v)", "dim" if on else "light")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => document.documentElement.classList.contains('theme-dim')") is on


def shot(page, name: str, full_page: bool = True):
    """With KETACLINIC_SCREENSHOTS=<folder>, keep a screenshot of what was checked (the whole page, or what the
    screen shows): docs/screenshots/ holds some of them (its README says how they are made)."""
    folder = os.environ.get("KETACLINIC_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def _listed(found: dict) -> str:
    return "\n".join(f"{path}: {v}" for path, vs in found.items() for v in vs)


@pytest.fixture
def dosing(clinic, staff, make_patient):
    rooms = make_rooms(clinic)
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Axeby")
    s = dosed_session(patient, staff, rooms=rooms, end="dosing")
    for bp in (("128", "82"), ("186", "112")):
        let_time_pass(10)  # the second is at HOLD: the alert is on the page too
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values={
            "systolic_mmHg": bp[0], "diastolic_mmHg": bp[1], "heart_rate_bpm": "84", "spo2_percent": "97",
            "respiratory_rate_per_min": "14"})
    return s


@pytest.mark.parametrize("dim", [False, True], ids=["light", "dimmed"])
def test_staff_pages_have_no_wcag_violations(page, live_server, login, dosing, dim, console_errors):
    page.clock.set_system_time(timezone.now())  # the browser's clock reads the test's moment (the timers)
    login("nurse")
    _dim(page, dim)
    found = {}
    for path in ("/", f"/treatments/sessions/{dosing.external_id}/", "/treatments/", "/patients/",
                 f"/patients/{dosing.patient.external_id}/", "/calendar/", "/measures/", "/custody/",
                 "/integration/", "/consults/", "/clinic/limits/", f"/records/sessions/{dosing.external_id}/"):
        assert page.goto(f"{live_server.url}{path}").status == 200, path
        page.wait_for_load_state("networkidle")
        found[path] = violations(page)
        shot(page, f"staff{path.replace('/', '_')[:40]}-{'dim' if dim else 'light'}")
    assert not any(found.values()), _listed(found)
    assert console_errors == []


@pytest.mark.parametrize("dim", [False, True], ids=["light", "dimmed"])
def test_portal_pages_have_no_wcag_violations(page, live_server, login, make_patient, actor_for, dim, console_errors):
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Portalby", email="rowan@example.invalid")
    user = User.objects.create_user(username="rowan@example.invalid", email="rowan@example.invalid",
                                    password="correct horse battery")
    PatientAccount.objects.create(user=user, patient=patient)
    measures.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    mail.outbox.clear()
    login("rowan@example.invalid")
    found = {"/accounts/login/ (code)": violations(page)}
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile("Hello, Rowan"))).to_be_visible()
    _dim(page, dim)
    if os.environ.get("KETACLINIC_SCREENSHOTS"):  # the portal's home as the patient sees it on a phone
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, f"portal-home-phone-{'dim' if dim else 'light'}", full_page=False)
        page.set_viewport_size({"width": 1280, "height": 720})
    for path in ("/portal/", "/portal/questionnaires/", "/portal/progress/", "/portal/visits/", "/portal/help/"):
        assert page.goto(f"{live_server.url}{path}").status == 200, path
        page.wait_for_load_state("networkidle")
        found[path] = violations(page)
    assert not any(found.values()), _listed(found)
    assert console_errors == []


def test_the_dimmed_room_switch_is_remembered_on_this_device(page, live_server, login, dosing, console_errors):
    login("nurse")
    switch = page.get_by_role("button", name="Dimmed room")
    expect(switch).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(245, 247, 249)"
    switch.click()
    expect(page.locator("html")).to_have_class(re.compile(r"\btheme-dim\b"))
    page.goto(f"{live_server.url}/treatments/sessions/{dosing.external_id}/")  # another page: still dimmed
    expect(page.locator("html")).to_have_class(re.compile(r"\btheme-dim\b"))
    expect(page.get_by_role("button", name="Dimmed room")).to_have_attribute("aria-pressed", "true")
    # dark, and nothing on the page is pure white
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(16, 19, 22)"
    whites = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
        const c = getComputedStyle(e); return c.color === 'rgb(255, 255, 255)' || c.backgroundColor === 'rgb(255, 255, 255)';
    }).map(e => e.tagName + '.' + e.className)""")
    assert whites == []
    # the HOLD alert still says so in words, on its own coloured ground
    alert = page.locator("#vitals .chair-alert")
    expect(alert).to_contain_text("HOLD")
    assert alert.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(16, 19, 22)"
    page.get_by_role("button", name="Dimmed room").click()  # and back to light, remembered too
    page.reload()
    expect(page.locator("html")).not_to_have_class(re.compile(r"\btheme-dim\b"))
    assert console_errors == []
