"""The whole treatment journey in a browser: front desk books a series; a nurse runs the session with a second
clinician's independent verification on another device; a high blood pressure raises the hold alert, which a
prescriber overrides for that reading (a normal recheck alone does not clear it); discharge
is refused until the escort is recorded, then allowed; nurse and prescriber sign."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.e2e.devices import signed_in_elsewhere
from tests.factories import IV, actor, let_time_pass, make_order, make_rooms, stocked


def test_iv_ketamine_session_from_booking_to_signatures(page, browser, live_server, login, logout, staff, clinic,
                                                        make_patient, make_user, console_errors):
    rooms = make_rooms(clinic)
    make_user("nurse", username="nurse2")
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Testwood")
    make_order(patient, staff, IV)
    services.add_consent_document(actor=actor(staff["clinic_admin"]), drug="ketamine", version="2026-1",
                                  title="Consent to ketamine treatment", text="Synthetic test consent text.",
                                  effective_from=timezone.localdate() - timedelta(days=30))
    stocked(staff, clinic=clinic, lot="KT2291A")  # 10 mL vials of 50 mg/mL in a store for every room
    local_now = timezone.localtime(timezone.now(), clinic.tz)
    start = local_now - timedelta(minutes=5)
    nav = page.get_by_role("navigation", name="Main")

    # --- front desk books the series ---------------------------------------------------------------------
    login("front_desk")
    nav.get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name=re.compile("Rowan Testwood: Ketamine")).click()
    row = page.locator("form[aria-label^='Book']").first
    row.get_by_label("Date").fill(start.strftime("%Y-%m-%d"))
    row.get_by_label("Time").fill(start.strftime("%H:%M"))
    row.get_by_role("button", name="Book").click()
    expect(page.get_by_text(re.compile(r"Booked session 1: .*Infusion Room A · Chair 1"))).to_be_visible()
    row = page.locator("form[aria-label^='Book']").first  # the next proposed date
    row.get_by_role("button", name="Book").click()
    expect(page.get_by_text(re.compile(r"Booked session 2"))).to_be_visible()
    row = page.locator("form[aria-label^='Book']").first
    row.get_by_label("Date").fill(start.strftime("%Y-%m-%d"))  # a second session the same day is refused
    row.get_by_role("button", name="Book").click()
    expect(page.get_by_text(re.compile("already has a session on")).first).to_be_visible()
    nav.get_by_role("link", name="Schedule").click()
    page.get_by_role("button", name="Check in Rowan").click()
    expect(page.get_by_text("Rowan Testwood checked in.")).to_be_visible()
    logout()

    # --- nurse: pre-checks, vitals with a hold, dose prepared ------------------------------------------
    login("nurse")
    nav.get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name="Open cockpit").first.click()
    expect(page.get_by_role("heading", name=re.compile("Rowan Testwood"))).to_be_visible()
    page.get_by_text(re.compile("read it with the patient")).click()  # the consent text opens
    expect(page.get_by_text("Synthetic test consent text.")).to_be_visible()
    page.get_by_label("Patient's full name, as signed").fill("Rowan Testwood")
    page.get_by_role("button", name="Patient signed (I witnessed it)").click()
    expect(page.get_by_text(re.compile("Consent version 2026-1 signed by Rowan Testwood"))).to_be_visible()
    for label in ("Identity checked", "Fasting confirmed", "No driving until the next day"):
        page.get_by_label(re.compile(label)).check()
    page.get_by_label("Today's weight (kg)").fill("70")
    page.get_by_label("Pregnancy test").select_option("negative")
    page.get_by_label("Music").select_option("Guided meditation")
    page.get_by_role("button", name="Save pre-checks").click()
    expect(page.get_by_text("Pre-checks saved.")).to_be_visible()

    vitals = page.get_by_role("form", name="New vitals row")
    vitals.get_by_label("Systolic").fill("156")
    vitals.get_by_label("Diastolic").fill("96")
    vitals.get_by_label("Heart rate").fill("82")
    vitals.get_by_label("SpO2").press("9")
    vitals.get_by_label("SpO2").press("8")
    vitals.get_by_label("SpO2").press("Enter")  # keyboard only: Enter saves the row
    alert = page.locator("#vitals [role=alert]")
    expect(alert).to_contain_text("HOLD")
    expect(alert).to_contain_text("systolic 156 mmHg is above 140")
    expect(page.get_by_role("form", name="New vitals row").get_by_label("Systolic")).to_be_focused()
    page.keyboard.type("128")
    page.keyboard.press("Tab")
    page.keyboard.type("82")
    page.keyboard.press("Enter")
    expect(page.locator("#vitals tbody tr")).to_have_count(2)
    expect(page.locator("#vitals [role=alert]")).to_have_count(0)

    page.get_by_label("Vial concentration (mg/mL)").select_option("50")  # the strengths the clinic can use
    page.get_by_label("Bag volume (mL)").fill("100")
    page.get_by_label("Vial or device used").fill("Ketamine HCl 50 mg/mL, 10 mL vial")
    page.get_by_label("Lot number").select_option("KT2291A")  # only lots the clinic holds are offered
    page.get_by_role("button", name="Calculate and record dose").click()
    expect(page.get_by_text("35 mg = 0.70 mL of 50 mg/mL")).to_be_visible()
    page.get_by_role("button", name="Start infusion").click()
    # a normal recheck does not erase the earlier HOLD: a prescriber must override that reading
    expect(page.get_by_text(re.compile("Start refused: Pre-dose vitals at HOLD: a prescriber must override the "
                                       "reading 156/96.*Dose not independently verified"))).to_be_visible()
    session = TreatmentSession.objects.get(patient=patient, sequence=1)
    verify_url = f"{live_server.url}/treatments/sessions/{session.external_id}/verify/"

    # --- a second clinician verifies on their own device -------------------------------------------------
    other, p2 = signed_in_elsewhere(browser, live_server, "nurse2")
    p2.goto(verify_url)
    p2.get_by_label("Weight you read (kg)").fill("70")
    p2.get_by_label("Vial strength you read (mg/mL)").fill("50")
    p2.get_by_label("Bag volume you read (mL)").fill("100")
    p2.get_by_label("Dose you calculated (mg)").fill("350")
    p2.get_by_role("button", name="Verify dose").click()
    expect(p2.get_by_text(re.compile("does not match the prepared dose"))).to_be_visible()
    p2.get_by_label("Dose you calculated (mg)").fill("35")
    p2.get_by_role("button", name="Verify dose").click()
    expect(p2.get_by_text("Dose verified independently.")).to_be_visible()  # back on the session's cockpit
    expect(p2.get_by_text(re.compile("Independently verified by"))).to_be_visible()
    other.close()

    # --- the prescriber reviews the HOLD reading and records an override tied to it ------------------------
    presc, p3 = signed_in_elsewhere(browser, live_server, "prescriber")
    p3.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/")
    p3.get_by_label(re.compile("Reason to start despite the HOLD reading 156/96")).fill(
        "White-coat rise; recheck 128/82, proceed")
    p3.get_by_role("button", name="Override HOLD (prescriber)").click()
    expect(p3.get_by_text("Pre-dose hold overridden; the reason is recorded.")).to_be_visible()
    presc.close()

    # --- nurse runs the infusion --------------------------------------------------------------------------
    page.reload()
    expect(page.get_by_text(re.compile("Independently verified by"))).to_be_visible()
    account = page.locator("#account")
    expect(account.get_by_label("Vial or device (from stock)")).to_contain_text("lot KT2291A")
    expect(account.get_by_label(re.compile("Amount drawn"))).to_have_value("0.70")
    account.get_by_role("button", name="Record draw").click()
    expect(page.get_by_text(re.compile(r"Drew 0\.70 mL \(35\.00 mg\)"))).to_be_visible()
    page.get_by_role("button", name="Start infusion").click()
    expect(page.get_by_text("Dosing started.")).to_be_visible()
    vitals = page.get_by_role("form", name="New vitals row")
    vitals.get_by_label("Systolic").fill("134")
    vitals.get_by_label("Diastolic").fill("84")
    vitals.get_by_label("Heart rate").fill("78")
    vitals.get_by_label("Heart rate").press("Enter")
    expect(page.locator("#vitals tbody tr")).to_have_count(3)
    let_time_pass(10)  # 10 minutes into the 40-minute infusion the nurse tries to stop without a reason
    page.reload()
    expect(page.locator("#given-now")).to_contain_text(re.compile(r"8\.[78]\d? mg of 35 mg prepared"))
    page.get_by_role("button", name="Stop / finish infusion").click()
    expect(page.get_by_text(re.compile(r"The recorded events give 8\.[78]\d? mg of the 35 mg prepared: say why"))
           ).to_be_visible()
    # Every part of the page loaded (the cockpit fetches its predicted-level panel after the page) before the test
    # reads the database itself or reloads: on SQLite the live server's threads and the test share one in-memory
    # connection, and a reload that overlapped a part still loading failed with a broken read (IndexError).
    page.wait_for_load_state("networkidle")
    assert TreatmentSession.objects.get(pk=session.pk).dose_ended_at is None  # the infusion runs on
    for minutes in (14, 14, 2):  # the pump runs its 40 minutes (the screen stays in use)
        let_time_pass(minutes)
        page.reload()
        page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Stop / finish infusion").click()
    expect(page.get_by_text(re.compile("Dose given: 35 mg of 35 mg prepared"))).to_be_visible()

    let_time_pass(100)  # the observation period passes on the test clock
    login("nurse")  # a screen left for 100 minutes was signed out (idle sign-out): the nurse signs in again
    page.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/")
    vitals = page.get_by_role("form", name="New vitals row")
    for label, value in (("Systolic", "126"), ("Diastolic", "80"), ("Heart rate", "74"), ("SpO2", "98")):
        vitals.get_by_label(label).fill(value)
    vitals.get_by_label("SpO2").press("Enter")
    expect(page.locator("#vitals tbody tr")).to_have_count(4)
    page.reload()
    page.get_by_label("Alert and oriented").check()
    page.get_by_label("Walking steadily").check()
    page.get_by_role("button", name="Save recovery status").click()
    page.get_by_role("button", name="Discharge patient").click()
    expect(page.get_by_text(re.compile("No escort present")).first).to_be_visible()
    assert TreatmentSession.objects.get(pk=session.pk).status != "discharged"
    page.get_by_label("Escort name").fill("Lee Testwood")
    page.get_by_label("Escort phone").fill("(303) 555-0142")
    page.get_by_role("button", name="Save pre-checks").click()
    expect(page.get_by_text("Ready for discharge (clinical core check).")).to_be_visible()
    page.get_by_role("button", name="Discharge patient").click()
    expect(page.get_by_text("Discharged. Print the discharge instructions.")).to_be_visible()
    expect(page.get_by_role("link", name="Discharge instructions (PDF)")).to_be_visible()
    page.get_by_label("Session summary").fill("0.5 mg/kg over 40 min; transient BP rise pre-dose, rechecked normal.")
    page.get_by_role("button", name="Sign note as nurse").click()  # the ledger does not show the dose given yet
    expect(page.get_by_text(re.compile("does not balance: The 0.70 mL given is not yet posted")).first).to_be_visible()
    assert TreatmentSession.objects.get(pk=session.pk).nurse_signed_at is None
    page.locator("#account").get_by_role("button", name=re.compile("Record administration of 35 mg")).click()
    expect(page.get_by_text("Administration recorded (0.70 mL).")).to_be_visible()
    expect(page.locator("#account")).to_contain_text("Balances: drawn 0.70 = given 0.70 + wasted 0.00 mL")
    page.get_by_label("Session summary").fill("0.5 mg/kg over 40 min; transient BP rise pre-dose, rechecked normal.")
    page.get_by_role("button", name="Sign note as nurse").click()
    expect(page.get_by_text("Note signed.")).to_be_visible()
    expect(page.get_by_role("button", name="Save row")).to_have_count(0)  # read-only now
    logout()

    # --- prescriber co-signs ------------------------------------------------------------------------------
    login("prescriber")
    page.goto(f"{live_server.url}/treatments/sessions/{session.external_id}/")
    page.get_by_role("button", name="Co-sign note as prescriber").click()
    expect(page.get_by_text("Note co-signed.")).to_be_visible()
    session.refresh_from_db()
    assert session.nurse_signed_by == staff["nurse"] and session.prescriber_signed_by == staff["prescriber"]
    assert session.verified_by.username == "nurse2" and session.prepared_by == staff["nurse"]
    expect(page.get_by_label(re.compile("Addendum"))).to_be_visible()
    assert console_errors == []
    _ = rooms
