"""A nurse who works at two clinics of one network signs in at the first, finds only its patients, switches to the
second in the header's "Work at" and finds only the second's (real Chromium; issue 19, point 4)."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from ketaclinic.accounts.services import grant_role
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.patients.services import register_patient


def test_a_nurse_switches_clinics_and_sees_each_clinics_own_patients(page, live_server, login, clinic, staff,
                                                                     make_patient, console_errors):
    make_patient(legal_given_name="Harper", legal_family_name="Hereford")
    yonder = Clinic.objects.create(name="Yonder Clinic (synthetic)", time_zone=clinic.time_zone)
    setup = Actor.system("test: a second clinic of the network")
    register_patient(actor=setup, clinic=yonder, confirm_duplicate=True, data={
        "legal_given_name": "Yael", "legal_family_name": "Yonderly", "date_of_birth": date(1979, 3, 4),
        "sex_at_birth": "female"})
    grant_role(actor=setup, user=staff["nurse"], clinic=yonder, role="nurse")

    login("nurse")
    work_at = page.get_by_label("Work at")
    expect(work_at).to_have_value(str(clinic.pk))  # the first clinic, until the nurse chooses

    def find(term: str):
        page.get_by_role("navigation").get_by_role("link", name="Patients").click()
        page.get_by_role("searchbox").fill(term)
        page.get_by_role("searchbox").press("Enter")

    find("Hereford")
    expect(page.get_by_role("link", name="Hereford, Harper")).to_be_visible()
    find("Yonderly")
    expect(page.get_by_text("No patient matches “Yonderly”.")).to_be_visible()

    work_at.select_option(label="Yonder Clinic (synthetic)")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("You are working at Yonder Clinic (synthetic).")).to_be_visible()
    expect(page.get_by_label("Work at")).to_have_value(str(yonder.pk))
    find("Yonderly")
    expect(page.get_by_role("link", name="Yonderly, Yael")).to_be_visible()
    find("Hereford")
    expect(page.get_by_text("No patient matches “Hereford”.")).to_be_visible()
    assert console_errors == []
