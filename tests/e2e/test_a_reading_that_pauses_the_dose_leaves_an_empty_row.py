"""A reading at HOLD while the dose runs pauses it, and the cockpit reloads whole to show the pause and what to do.
The row just saved is in the table, and the row form is empty: had it come back filled with the numbers just saved,
a nurse reading "Vital signs at HOLD" would likely press Save again and record the reading twice."""

from __future__ import annotations

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.treatments.models import VitalsReading
from tests.factories import dosed_session, let_time_pass, make_rooms

FIELDS = ("Systolic", "Diastolic", "Heart rate", "SpO")


def test_the_row_form_is_empty_after_a_reading_that_pauses_the_dose(page, live_server, login, clinic, staff,
                                                                     make_patient, console_errors):
    s = dosed_session(make_patient(legal_given_name="Sawyer", legal_family_name="Holdrow"), staff,
                      rooms=make_rooms(clinic), end="dosing")
    let_time_pass(10)
    page.clock.set_system_time(timezone.now())
    login("nurse")
    page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    row = page.get_by_role("form", name="New vitals row")
    before = VitalsReading.objects.filter(session=s).count()
    for label, value in zip(FIELDS, ("185", "100", "110", "95"), strict=True):
        row.get_by_label(label).first.fill(value)
    with page.expect_navigation():  # the reading paused the dose: the whole cockpit is drawn again
        row.get_by_role("button", name="Save").click()
    expect(page.locator("#vitals-alerts [role=alert]")).to_contain_text("HOLD")
    assert VitalsReading.objects.filter(session=s).count() == before + 1
    row = page.get_by_role("form", name="New vitals row")
    for label in FIELDS:
        expect(row.get_by_label(label).first).to_have_value("")
    assert console_errors == []
