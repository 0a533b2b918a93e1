"""The cockpit at the chair on a tablet (1024 × 768, touch): every control is at least 44 × 44 CSS px (a checkbox
counts with the label that wraps it), numeric fields bring up a number pad, and a vitals row is saved by touch."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.accounts.models import User
from ketaclinic.measures import services as measures
from ketaclinic.portal.models import PatientAccount
from ketaclinic.treatments import services
from tests.e2e.axe import violations
from tests.e2e.devices import sign_in_on
from tests.e2e.test_pages_pass_axe_in_both_themes import shot
from tests.factories import actor, dosed_session, let_time_pass, make_rooms

PASSWORD = "correct horse battery"
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": True}

#: Controls a finger must hit: each, or the <label> around it, must be at least 44 × 44 CSS px.
TOO_SMALL = """() => [...document.querySelectorAll(
        'main button, main input:not([type=hidden]), main select, main textarea, main summary, main a.button,'
        + ' header button, header nav a')]
    .filter(e => e.offsetParent !== null)
    .map(e => { let r = e.getBoundingClientRect();
                if ((r.width < 44 || r.height < 44) && e.closest('label')) r = e.closest('label').getBoundingClientRect();
                return {what: e.outerHTML.slice(0, 90), w: Math.round(r.width), h: Math.round(r.height)}; })
    .filter(b => b.w < 44 || b.h < 44)"""


def assert_big_enough(page):
    small = page.evaluate(TOO_SMALL)
    assert small == [], "\n".join(f"{b['w']}×{b['h']} {b['what']}" for b in small)


@pytest.fixture
def tablet(browser, live_server):
    context = browser.new_context(**TABLET)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, live_server, username):
    sign_in_on(page, live_server.url, username, PASSWORD, tap=True)


def test_a_nurse_charts_vitals_by_touch_on_a_tablet(tablet, live_server, clinic, staff, make_patient):
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Tabletby")
    s = dosed_session(patient, staff, rooms=make_rooms(clinic), end="dosing")
    for bp in (("132", "84"), ("138", "88")):
        let_time_pass(10)
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values={
            "systolic_mmHg": bp[0], "diastolic_mmHg": bp[1], "heart_rate_bpm": "80", "spo2_percent": "97"})
    let_time_pass(4)
    page = tablet
    page.clock.set_system_time(timezone.now())  # the tablet's clock reads the test's moment (the timers)
    sign_in(page, live_server, "nurse")
    page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    expect(page.get_by_role("heading", name=re.compile("Rowan Tabletby"))).to_be_visible()
    assert_big_enough(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024  # nothing runs off the side

    # at a glance: the time since the dose started and the next reading, large, and kept in view while scrolling
    glance = page.get_by_role("region", name="At a glance")
    expect(glance).to_contain_text("24 min since dose start")  # in words, as on Today
    expect(glance).to_contain_text("next vitals due in 6 min")
    expect(glance).to_contain_text("35 mg")
    page.locator("#sign").scroll_into_view_if_needed()
    assert glance.evaluate("g => Math.round(g.getBoundingClientRect().top)") == 0
    assert glance.locator(".timer").evaluate("t => parseFloat(getComputedStyle(t).fontSize)") >= 28
    # the trend: blood pressure, heart rate and SpO2 of the three readings, against the HOLD limits and the baseline
    trend = page.get_by_role("img", name="Vital signs trend")
    expect(trend).to_be_visible()
    assert trend.locator("g.series").evaluate_all("gs => gs.map(g => [g.classList[1], g.querySelectorAll('circle, rect').length])") == [
        ["systolic", 3], ["diastolic", 3], ["heart", 3], ["spo2", 3]]
    expect(trend.locator("text.limit-label")).to_have_count(4)
    expect(trend.locator("line.baseline")).to_have_count(2)
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "cockpit-tablet-light", full_page=False)

    vitals = page.get_by_role("form", name="New vitals row")
    for label, value in (("Systolic", "126"), ("Diastolic", "80"), ("Heart rate", "76"), ("SpO2", "98"),
                         ("Resp. rate", "14")):
        field = vitals.get_by_label(label)
        expect(field).to_have_attribute("inputmode", "numeric")
        field.tap()
        field.fill(value)
    vitals.get_by_role("button", name="Save row").tap()
    expect(page.locator("#vitals-rows tr").last).to_contain_text("126/80")
    expect(page.get_by_role("form", name="New vitals row").get_by_label("Systolic")).to_have_value("")
    expect(glance).to_contain_text("next vitals due in 10 min")  # the bar follows the saved row
    expect(glance).to_contain_text("latest reading 126/80")
    # the saved row joins the trend (only the row came back: the page adds it on the chart's scales)
    expect(trend.locator("g.series.systolic circle")).to_have_count(4)
    expect(trend.locator("g.series.heart rect")).to_have_count(4)
    assert trend.locator("g.series.systolic polyline").evaluate("p => p.getAttribute('points').split(' ').length") == 4
    shot(page, "cockpit-tablet-after-save")
    # the same at the chair in a darkened room: switched on this tablet, no WCAG A/AA violation, alerts in words
    page.get_by_role("button", name="Dimmed room").tap()
    expect(page.locator("html")).to_have_class(re.compile(r"\btheme-dim\b"))
    assert violations(page) == []
    assert_big_enough(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "cockpit-tablet-dim", full_page=False)
    assert_big_enough(page)


def test_the_portal_is_made_for_a_finger(tablet, live_server, make_patient, actor_for):
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Portalby", email="rowan@example.invalid")
    user = User.objects.create_user(username="rowan@example.invalid", email="rowan@example.invalid",
                                    password=PASSWORD)
    PatientAccount.objects.create(user=user, patient=patient)
    measures.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    mail.outbox.clear()
    page = tablet
    page.goto(f"{live_server.url}/accounts/login/")
    assert_big_enough(page)
    sign_in(page, live_server, "rowan@example.invalid")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Continue").tap()
    expect(page.get_by_role("heading", name=re.compile("Hello, Rowan"))).to_be_visible()
    assert_big_enough(page)
    for path in ("/portal/questionnaires/", "/portal/progress/", "/portal/visits/", "/portal/help/"):
        page.goto(f"{live_server.url}{path}")
        assert_big_enough(page)
    page.goto(f"{live_server.url}/portal/questionnaires/")
    page.get_by_role("button", name="Start PHQ-9").tap()
    expect(page.get_by_role("heading", name="PHQ-9")).to_be_visible()
    assert_big_enough(page)  # every answer's radio button with its words
