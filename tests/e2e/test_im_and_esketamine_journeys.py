"""IM ketamine and esketamine sessions in a browser, from the front desk's booking to the signed note: the dose is
prepared from a lot the clinic holds, verified by a second clinician on their own device, drawn from counted
stock in the cockpit's drug account, given (one injection; esketamine device by device), posted to the ledger,
and the note signs only once the account balances. The IV journey is tests/e2e/test_treatment_journey.py."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.custody.models import LedgerEntry
from ketaclinic.treatments import services
from ketaclinic.treatments.models import RemsForm, TreatmentSession
from tests.e2e.devices import signed_in_elsewhere
from tests.factories import ESK, IM, actor, let_time_pass, make_order, make_rooms, stocked


def _consent(staff, drug: str) -> None:
    services.add_consent_document(actor=actor(staff["clinic_admin"]), drug=drug, version="2026-1",
                                  title=f"Consent to {drug} treatment", text="Synthetic test consent text.",
                                  effective_from=timezone.localdate() - timedelta(days=30))


def _book_today_and_check_in(page, login, logout, start, who: str) -> None:
    """The front desk books the order's first session now from the Schedule page and checks the patient in."""
    nav = page.get_by_role("navigation", name="Main")
    login("front_desk")
    nav.get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name=re.compile(f"{who}: ")).click()
    row = page.locator("form[aria-label^='Book']").first
    row.get_by_label("Date").fill(start.strftime("%Y-%m-%d"))
    row.get_by_label("Time").fill(start.strftime("%H:%M"))
    row.get_by_role("button", name="Book").click()
    expect(page.get_by_text(re.compile(r"Booked session 1: "))).to_be_visible()
    nav.get_by_role("link", name="Schedule").click()
    page.get_by_role("button", name=f"Check in {who.split()[0]}").click()
    expect(page.get_by_text(f"{who} checked in.")).to_be_visible()
    logout()


def _consent_and_prechecks(page, who: str, *, weight: str | None) -> None:
    page.get_by_text(re.compile("read it with the patient")).click()
    page.get_by_label("Patient's full name, as signed").fill(who)
    page.get_by_role("button", name="Patient signed (I witnessed it)").click()
    expect(page.get_by_text(re.compile(f"Consent version 2026-1 signed by {who}"))).to_be_visible()
    for label in ("Identity checked", "Fasting confirmed", "No driving until the next day"):
        page.get_by_label(re.compile(label)).check()
    if weight is not None:
        page.get_by_label("Today's weight (kg)").fill(weight)
    page.get_by_label("Pregnancy test").select_option("negative")
    page.get_by_label("Escort name").fill("Lee Testwood")
    page.get_by_label("Escort phone").fill("(303) 555-0142")
    page.get_by_role("button", name="Save pre-checks").click()
    expect(page.get_by_text("Pre-checks saved.")).to_be_visible()


def _vitals(page, systolic: str, diastolic: str, hr: str, spo2: str, rows: int) -> None:
    form = page.get_by_role("form", name="New vitals row")
    for label, value in (("Systolic", systolic), ("Diastolic", diastolic), ("Heart rate", hr), ("SpO2", spo2)):
        form.get_by_label(label).fill(value)
    form.get_by_label("SpO2").press("Enter")
    expect(page.locator("#vitals tbody tr")).to_have_count(rows)


def _verify_on_another_device(browser, live_server, session, fields: dict[str, str]) -> None:
    other, p2 = signed_in_elsewhere(browser, live_server, "nurse2")
    p2.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/verify/")
    for label, value in fields.items():
        p2.get_by_label(label).fill(value)
    p2.get_by_role("button", name="Verify dose").click()
    expect(p2.get_by_text("Dose verified independently.")).to_be_visible()
    other.close()


def _observe_and_discharge(page, login, live_server, session, waits: tuple[int, ...]) -> None:
    """Observation on the test clock: after each wait (minutes) a normal reading (the idle screen has signed out,
    so the nurse signs in again); then recovery and discharge."""
    for row, minutes in enumerate(waits, start=2):
        let_time_pass(minutes)
        login("nurse")
        page.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/")
        _vitals(page, "126", "80", "74", "98", rows=row)
    page.reload()
    page.get_by_label("Alert and oriented").check()
    page.get_by_label("Walking steadily").check()
    page.get_by_role("button", name="Save recovery status").click()
    page.get_by_role("button", name="Discharge patient").click()
    expect(page.get_by_text("Discharged. Print the discharge instructions.")).to_be_visible()


def _sign_and_cosign(page, login, logout, live_server, session, summary: str) -> None:
    page.get_by_label("Session summary").fill(summary)
    page.get_by_role("button", name="Sign note as nurse").click()
    expect(page.get_by_text("Note signed.")).to_be_visible()
    logout()
    login("prescriber")
    page.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/")
    page.get_by_role("button", name="Co-sign note as prescriber").click()
    expect(page.get_by_text("Note co-signed.")).to_be_visible()
    expect(page.locator("#sign")).not_to_contain_text("Prescriber: not signed")
    expect(page.get_by_role("button", name="Co-sign note as prescriber")).to_have_count(0)


def test_im_ketamine_from_booking_to_a_signed_note_whose_drug_account_balances(
        page, browser, live_server, login, logout, staff, clinic, make_patient, make_user, console_errors):
    make_rooms(clinic)
    make_user("nurse", username="nurse2")
    patient = make_patient(legal_given_name="Ira", legal_family_name="Testmoor")
    make_order(patient, staff, IM)
    _consent(staff, "ketamine")
    stocked(staff, clinic=clinic, lot="KT-IM-7")  # 10 mL vials of 50 mg/mL
    start = timezone.localtime(timezone.now(), clinic.tz) - timedelta(minutes=5)
    _book_today_and_check_in(page, login, logout, start, "Ira Testmoor")

    login("nurse")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name="Open cockpit").first.click()
    _consent_and_prechecks(page, "Ira Testmoor", weight="70")
    _vitals(page, "124", "78", "72", "98", rows=1)
    page.get_by_label("Vial concentration (mg/mL)").select_option("50")
    page.get_by_label("Vial or device used").fill("Ketamine HCl 50 mg/mL, 10 mL vial")
    expect(page.get_by_label("Bag volume (mL)")).to_have_count(0)  # an injection has no bag
    page.get_by_label("Lot number").select_option("KT-IM-7")
    page.get_by_role("button", name="Calculate and record dose").click()
    expect(page.get_by_text("35 mg = 0.70 mL of 50 mg/mL")).to_be_visible()
    session = TreatmentSession.objects.get(patient=patient, sequence=1)
    _verify_on_another_device(browser, live_server, session, {
        "Weight you read (kg)": "70", "Vial strength you read (mg/mL)": "50", "Dose you calculated (mg)": "35"})

    page.reload()
    account = page.locator("#account")
    expect(account).to_contain_text("The verified dose is not drawn from stock yet")
    expect(account.get_by_label(re.compile("Amount drawn"))).to_have_value("0.70")
    account.get_by_role("button", name="Record draw").click()
    expect(page.get_by_text(re.compile(r"Drew 0\.70 mL \(35\.00 mg\)"))).to_be_visible()
    page.get_by_role("button", name="Injection given").click()
    expect(page.get_by_text("Injection given.")).to_be_visible()
    expect(page.get_by_text(re.compile("Dose given: 35 mg of 35 mg prepared"))).to_be_visible()

    _observe_and_discharge(page, login, live_server, session, waits=(45, 80))  # the clinic's minimum: 120 min

    page.get_by_label("Session summary").fill("IM 0.5 mg/kg, uneventful.")
    page.get_by_role("button", name="Sign note as nurse").click()  # the injection is not posted to the ledger yet
    expect(page.get_by_text(re.compile("does not balance: The 0.70 mL given is not yet posted")).first).to_be_visible()
    assert TreatmentSession.objects.get(pk=session.pk).nurse_signed_at is None
    page.locator("#account").get_by_role("button", name=re.compile("Record administration of 35 mg")).click()
    expect(page.get_by_text("Administration recorded (0.70 mL).")).to_be_visible()
    expect(page.locator("#account")).to_contain_text("Balances: drawn 0.70 = given 0.70 + wasted 0.00 mL")
    _sign_and_cosign(page, login, logout, live_server, session, "IM 0.5 mg/kg, uneventful.")

    session.refresh_from_db()
    assert session.route == "im" and session.administered_mg == 35
    assert session.nurse_signed_by == staff["nurse"] and session.prescriber_signed_by == staff["prescriber"]
    kinds = list(LedgerEntry.objects.filter(session=session).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["draw", "administer"]
    assert console_errors == []


def test_esketamine_device_by_device_from_booking_to_a_signed_note_and_rems_form(
        page, browser, live_server, login, logout, staff, clinic, make_patient, make_user, console_errors):
    make_rooms(clinic)
    make_user("nurse", username="nurse2")
    patient = make_patient(legal_given_name="Esme", legal_family_name="Testvale")
    make_order(patient, staff, ESK)
    _consent(staff, "esketamine")
    stocked(staff, clinic=clinic, drug="esketamine", lot="SPR-31", packages=3)  # 28 mg devices
    start = timezone.localtime(timezone.now(), clinic.tz) - timedelta(minutes=5)
    _book_today_and_check_in(page, login, logout, start, "Esme Testvale")

    login("nurse")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name="Open cockpit").first.click()
    _consent_and_prechecks(page, "Esme Testvale", weight=None)
    _vitals(page, "124", "78", "72", "98", rows=1)
    page.get_by_label("Vial or device used").fill("Spravato 28 mg device")
    page.get_by_label("Lot number").select_option("SPR-31")
    page.get_by_role("button", name="Calculate and record dose").click()
    expect(page.get_by_text("Dose prepared: 56 mg, 2 device(s) of 28 mg.", exact=False)).to_be_visible()
    session = TreatmentSession.objects.get(patient=patient, sequence=1)
    assert session.devices == 2
    _verify_on_another_device(browser, live_server, session, {"Dose you calculated (mg)": "56"})

    page.reload()
    account = page.locator("#account")
    expect(account.get_by_label(re.compile("Amount drawn"))).to_have_value("1")
    account.get_by_role("button", name="Record draw").click()
    expect(page.get_by_text(re.compile(r"Drew 1(\.00)? device"))).to_be_visible()
    page.get_by_role("button", name="First device given (start)").click()
    expect(page.get_by_text("Dosing started.")).to_be_visible()
    let_time_pass(5)  # the label's 5 minutes between devices
    page.reload()
    page.locator("#account").get_by_role("button", name="Record draw").click()  # the second device
    expect(page.get_by_text(re.compile(r"Drew 1(\.00)? device"))).to_be_visible()
    expect(page.locator("#account").get_by_role("button", name="Record draw")).to_have_count(0)  # 56 mg drawn
    expect(page.get_by_role("button", name="End dosing after 1 of 2 devices")).to_be_visible()
    page.get_by_role("button", name="Device 2 of 2 given").click()
    expect(page.get_by_role("button", name="Device 2 of 2 given")).to_have_count(0)
    page.get_by_role("button", name="Dosing done (2 of 2 devices given)").click()
    expect(page.get_by_text(re.compile("Dose given: 56 mg of 56 mg prepared"))).to_be_visible()

    _observe_and_discharge(page, login, live_server, session, waits=(40, 50, 35))  # REMS BP ~40 min, ~1.5 h; 2 h

    page.locator("#account").get_by_role("button", name=re.compile("Record administration of 56 mg")).click()
    expect(page.get_by_text(re.compile(r"Administration recorded \(2(\.00)? device"))).to_be_visible()
    expect(page.locator("#account")).to_contain_text("Balances: drawn 2")
    _sign_and_cosign(page, login, logout, live_server, session, "Esketamine 56 mg, two devices, uneventful.")

    session.refresh_from_db()
    assert session.administered_mg == 56 and session.prescriber_signed_by == staff["prescriber"]
    assert RemsForm.objects.filter(session=session, dose_mg=56, devices=2, lot_number="SPR-31").exists()
    kinds = list(LedgerEntry.objects.filter(session=session).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["draw", "draw", "administer", "administer"]  # one administration per device drawn
    assert console_errors == []
