"""A nurse receives a lot (a prescriber countersigns on their own sign-in), draws for a verified session,
wastes the residue with the prescriber as witness (again on their own sign-in), and runs a blind count."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.custody import services
from ketaclinic.custody.models import Container, LedgerEntry
from tests.e2e.devices import signed_in_elsewhere


def _setup(staff, clinic):
    """The store, supplier and product, and the patient (returns the patient and the room)."""
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room
    from ketaclinic.patients.services import register_patient
    admin = Actor(user=staff["clinic_admin"], roles=staff["clinic_admin"].role_set())
    room = add_room(actor=admin, clinic=clinic, name="Infusion Room A", kind=Room.Kind.INFUSION, chairs=1)
    services.add_location(admin, clinic=clinic, name="Main safe", rooms=[room])
    services.add_supplier(admin, name="Example Pharma Supply", address="1 Warehouse Way, Denver, CO",
                          dea_number="PS1234563")
    services.add_product(admin, ndc="00000-0001-01", name="Ketamine HCl 50 mg/mL 10 mL", drug="ketamine",
                         form="vial", strength_mg_per_mL="50", container_volume_mL="10")
    patient = register_patient(actor=admin, clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Rowan", "legal_family_name": "Mockridge", "date_of_birth": date(1984, 5, 14),
        "sex_at_birth": "female"})
    return patient, room


def _dosed(patient, staff, room):
    """The patient's IV session dosed (35 mg given) through the treatment services: consult and order signed,
    booked, checked in, dose prepared from the stock now on hand, verified, started and stopped."""
    from tests.factories import dosed_session

    session = dosed_session(patient, staff, room=room, end="stopped")
    assert session.administered_mg == Decimal("35.00") and session.verified_at is not None
    return session


def test_receive_draw_waste_count(page, browser, live_server, login, staff, clinic, console_errors):
    patient, room = _setup(staff, clinic)
    today = timezone.localdate()

    # 1. The nurse enters the delivery.
    login("nurse")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Custody").click()
    page.get_by_role("navigation", name="Custody").get_by_role("link", name="Receive").click()
    page.get_by_label("Supplier").select_option(label="Example Pharma Supply (PS1234563)")
    page.get_by_label("Invoice number").fill("INV-5521")
    page.get_by_label("Invoice date").fill(today.isoformat())
    page.get_by_label("Product").select_option(label="Ketamine HCl 50 mg/mL 10 mL (NDC 00000-0001-01)")
    page.get_by_label("Lot number").fill("KD77A")
    page.get_by_label("Expiry date").fill((today + timedelta(days=400)).isoformat())
    page.get_by_label("Packages received").fill("2")
    page.get_by_label("Stored in").select_option(label="Main safe")
    page.get_by_role("button", name="Enter receipt").click()
    expect(page.get_by_text("Awaiting countersignature")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Countersign"))).to_have_count(0)

    # 2. The prescriber countersigns on their own sign-in.
    ctx2, page2 = signed_in_elsewhere(browser, live_server, "prescriber")
    page2.goto(f"{live_server.url}/custody/signatures/")
    page2.get_by_role("link", name=re.compile("Invoice INV-5521")).click()
    page2.get_by_role("button", name=re.compile("Countersign")).click()
    expect(page2.get_by_text(re.compile("2 container\\(s\\) are now in stock"))).to_be_visible()
    _dosed(patient, staff, room)  # prepared from the stock now on hand

    # 3. The nurse draws for the verified session (after its 40-minute infusion the idle screen signs in again).
    login("nurse")
    page.goto(f"{live_server.url}/custody/")
    page.get_by_role("link", name="Draw / account for Rowan Mockridge").click()
    vial = Container.objects.order_by("label").first()
    page.get_by_label("Vial or device").select_option(str(vial.external_id))
    page.get_by_label("Amount drawn").fill("1.00")
    page.get_by_role("button", name="Record draw").click()
    expect(page.get_by_text(re.compile(r"Drew 1\.00 mL \(50\.00 mg\).*9\.00 remain"))).to_be_visible()

    # 4. Record the administration from the session, then waste the residue.
    page.get_by_role("button", name=re.compile("Record administration of 35")).click()
    expect(page.get_by_text("Administration recorded", exact=False).first).to_be_visible()
    expect(page.get_by_label("Residue wasted")).to_have_value("0.30")
    page.get_by_role("button", name="Record waste").click()
    expect(page.get_by_text(re.compile("awaiting 1 witness"))).to_be_visible()

    # 5. The prescriber witnesses it on their own sign-in (signed in again: the infusion's 40 minutes idled
    # their screen out), re-entering the amount.
    ctx2.close()
    ctx2, page2 = signed_in_elsewhere(browser, live_server, "prescriber")
    page2.goto(f"{live_server.url}/custody/signatures/")
    page2.get_by_role("link", name=re.compile("Witness waste of residue for Rowan Mockridge")).click()
    page2.get_by_label("Amount you saw wasted or destroyed").fill("0.30")
    page2.get_by_role("button", name="Sign as witness").click()
    expect(page2.get_by_text("Signed as witness.")).to_be_visible()
    ctx2.close()
    waste = LedgerEntry.objects.get(kind="waste")
    assert waste.witness == staff["prescriber"] and waste.quantity == Decimal("0.30")

    # 6. A blind routine count: balances are not shown before signing.
    page.get_by_role("navigation", name="Custody").get_by_role("link", name="Count").click()
    expect(page.get_by_text("9.00")).to_have_count(0)
    for c in Container.objects.order_by("label"):
        page.get_by_label(f"Counted in {c.label} (mL)").fill(str(c.balance))
    page.get_by_role("button", name="Sign count").click()
    expect(page.get_by_text("Count signed: it matches the ledger.")).to_be_visible()

    page.get_by_role("navigation", name="Custody").get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_role("heading", name=re.compile("Reconciliation"))).to_contain_text("balances")
    assert services.reconciliation().balances
    assert console_errors == []
