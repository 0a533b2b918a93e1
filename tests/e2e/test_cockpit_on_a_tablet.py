"""The cockpit at the chair on a tablet (1024 × 768, touch): every control is at least 44 × 44 CSS px (a checkbox
counts with the label that wraps it), numeric fields bring up a number pad, and a vitals row is saved by touch."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from ketaclinic.accounts.models import User
from ketaclinic.measures import services as measures
from ketaclinic.portal.models import PatientAccount
from tests.factories import dosed_session, make_rooms

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
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    page.wait_for_load_state("networkidle")


def test_a_nurse_charts_vitals_by_touch_on_a_tablet(tablet, live_server, clinic, staff, make_patient):
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Tabletby")
    s = dosed_session(patient, staff, rooms=make_rooms(clinic), end="dosing")
    page = tablet
    sign_in(page, live_server, "nurse")
    page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    expect(page.get_by_role("heading", name=re.compile("Rowan Tabletby"))).to_be_visible()
    assert_big_enough(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024  # nothing runs off the side

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
