"""A session is completed, billing invoices it from the worklist and takes the payment, and the patient downloads
the visit's superbill in the portal (real Chromium)."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from ketaclinic.accounts.models import User
from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, Service
from ketaclinic.patients.services import add_diagnosis
from ketaclinic.portal.models import PatientAccount
from tests.factories import actor, dosed_session, make_rooms
from tests.pdfread import pdf_text


def test_session_to_invoice_to_payment_to_superbill_in_the_portal(page, live_server, login, clinic, staff,
                                                                  make_patient, console_errors):
    for service, cents in {Service.IV_INFUSION: 45000, Service.NO_SHOW_FEE: 10000}.items():
        services.set_price(actor=actor(staff["billing"]), clinic=clinic, service=service, amount_cents=cents)
    services.update_profile(actor=actor(staff["billing"]), clinic=clinic, organisation_npi="1245319599",
                            tax_id="12-3456789")
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Billingsby", email="rowan@example.invalid")
    add_diagnosis(actor=actor(staff["prescriber"]), patient=patient, code="F33.2")
    session = dosed_session(patient, staff, rooms=make_rooms(clinic), end="discharged")
    user = User.objects.create_user(username="rowan@example.invalid", email="rowan@example.invalid",
                                    password="correct horse battery")
    PatientAccount.objects.create(user=user, patient=patient)

    # Billing invoices the completed session from the worklist and takes the payment in cash.
    login("billing")
    page.get_by_role("navigation").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing worklist")).to_be_visible()
    row = page.locator("#to-invoice tr", has_text="Rowan Billingsby")
    row.get_by_role("button", name="Invoice").click()
    invoice = Invoice.objects.get(treatment_session=session)
    expect(page.get_by_role("heading", name=re.compile(f"Invoice {invoice.number}"))).to_be_visible()
    expect(page.locator("#balance")).to_have_text("$450.00")
    payment = page.locator("#pay-form")
    payment.get_by_label("Method").select_option("cash")
    expect(payment.get_by_label("Amount")).to_have_value("450.00")
    payment.get_by_role("button", name="Take payment").click()
    expect(page.get_by_text(re.compile(r"Payment of \$450\.00 taken: receipt RCP-"))).to_be_visible()
    expect(page.locator("#balance")).to_have_text("$0.00")
    page.get_by_role("button", name="Sign out").click()

    # The patient signs in (emailed new-device code), opens the bill and downloads the superbill.
    mail.outbox.clear()
    login("rowan@example.invalid")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="My bills").click()
    expect(page.locator("#my-balance")).to_have_text("$0.00")
    page.get_by_role("link", name=invoice.number).click()
    expect(page.locator("#receipts")).to_contain_text("$450.00")
    with page.expect_download() as download:
        page.locator("#superbill-link").click()
    text = pdf_text(open(download.value.path(), "rb").read())
    for needle in (patient.mrn, "1245319599", "12-3456789", "F33.2", "96365", "$450.00", invoice.number):
        assert needle in text, needle
    assert console_errors == []
