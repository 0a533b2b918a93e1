"""Billing pages: each POST through its form (a refusal shown, nothing changed), roles refused, exact query
budgets for the worklist and the invoice page, and the portal: a patient reaches only their own bills."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, Payment, Service
from tests.billing.conftest import PRICES
from tests.factories import dosed_session, open_day
from tests.measures.conftest import make_portal_patient  # noqa: F401
from tests.pdfread import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # dates from the test clock: rerun by .ci/run's date matrix


def test_the_worklist_offers_the_completed_session_and_invoicing_it_opens_the_invoice(completed, client_for):
    c = client_for("billing")
    page = c.get(reverse("billing:worklist")).content.decode()
    assert reverse("billing:invoice_session", args=[completed.external_id]) in page
    r = c.post(reverse("billing:invoice_session", args=[completed.external_id]))
    invoice = Invoice.objects.get(treatment_session=completed)
    assert r.status_code == 302 and r["Location"] == reverse("billing:invoice", args=[invoice.external_id])
    again = c.post(reverse("billing:invoice_session", args=[completed.external_id]), follow=True)
    assert "already invoiced" in again.content.decode()
    assert Invoice.objects.filter(treatment_session=completed).count() == 1


@pytest.mark.parametrize("typed, message", [("-5.00", "cannot be negative"), ("12.345", "at most two decimals"),
                                            ("1,23.4", "such as"), ("1e3", "such as"), ("", "required"),
                                            ("500.00", "Only $450.00 is owed")])
def test_a_bad_amount_is_refused_next_to_the_field_and_nothing_is_paid(invoiced, client_for, typed, message):
    r = client_for("billing").post(reverse("billing:pay", args=[invoiced.external_id]),
                                   {"method": "cash", "amount": typed})
    assert r.status_code == 200 and message in r.content.decode()
    assert not Payment.objects.exists()


def test_a_payment_typed_with_a_thousands_separator_is_read_to_the_cent(invoiced, client_for, billing, priced):
    services.set_price(actor=billing, clinic=priced, service=Service.IV_INFUSION, amount_cents=123450)
    r = client_for("front_desk").post(reverse("billing:pay", args=[invoiced.external_id]),
                                      {"method": "cash", "amount": "$1,234.50"})
    assert "Only $450.00 is owed" in r.content.decode()  # the invoice kept its price
    r = client_for("front_desk").post(reverse("billing:pay", args=[invoiced.external_id]),
                                      {"method": "cash", "amount": "449.99"})
    assert r.status_code == 302
    assert Payment.objects.get().amount_cents == 44999


def test_the_front_desk_takes_a_payment_but_cannot_refund_or_void(invoiced, client_for):
    c = client_for("front_desk")
    page = c.get(reverse("billing:invoice", args=[invoiced.external_id])).content.decode()
    assert 'id="pay-form"' in page and 'id="void-form"' not in page
    assert 'value="450.00"' in page  # the amount starts at what is owed
    assert c.post(reverse("billing:void", args=[invoiced.external_id]), {"reason": "x"}).status_code == 403
    assert c.post(reverse("billing:refund", args=[invoiced.external_id]), {}).status_code == 403


@pytest.mark.parametrize("role", ["prescriber", "nurse", "therapist", "compliance"])
def test_clinicians_and_compliance_see_no_money_pages(invoiced, client_for, role):
    c = client_for(role)
    for url in (reverse("billing:worklist"), reverse("billing:invoice", args=[invoiced.external_id]),
                reverse("billing:account", args=[invoiced.patient.external_id]), reverse("billing:prices")):
        assert c.get(url).status_code == 403
    chart = c.get(reverse("patients:chart", args=[invoiced.patient.external_id])).content.decode()
    assert invoiced.number not in chart


def test_the_chart_shows_billing_the_balance(invoiced, client_for):
    chart = client_for("billing").get(reverse("patients:chart", args=[invoiced.patient.external_id])).content.decode()
    assert "$450.00" in chart and invoiced.number in chart


WORKLIST_QUERIES = 16
INVOICE_QUERIES = 13


def test_the_worklist_answers_in_a_fixed_number_of_queries(invoiced, completed, patient, staff, rooms, client_for,
                                                          django_assert_num_queries, clock):

    c = client_for("billing")
    c.get(reverse("billing:worklist"))
    with django_assert_num_queries(WORKLIST_QUERIES):
        c.get(reverse("billing:worklist"))
    for days in (2, 4):  # more sessions and invoices: the same number of queries
        s = dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -days), end="discharged")
        if days == 2:
            services.invoice_session(actor=__import__("tests.factories", fromlist=["actor"]).actor(staff["billing"]),
                                     session=s)
    with django_assert_num_queries(WORKLIST_QUERIES):
        c.get(reverse("billing:worklist"))


def test_the_invoice_page_answers_in_a_fixed_number_of_queries(invoiced, billing, client_for,
                                                              django_assert_num_queries):
    c = client_for("billing")
    url = reverse("billing:invoice", args=[invoiced.external_id])
    c.get(url)
    with django_assert_num_queries(INVOICE_QUERIES):
        c.get(url)
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=100)
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=200)
    with django_assert_num_queries(INVOICE_QUERIES):
        c.get(url)


def test_the_price_list_saves_a_new_version_and_refuses_a_bad_code(priced, client_for):
    c = client_for("billing")
    r = c.post(reverse("billing:prices"), {"service": "iv_infusion", "amount": "475", "code": "9636", "units": "1"})
    assert "five digits" in r.content.decode()
    assert services.price_for(priced, Service.IV_INFUSION).amount_cents == PRICES[Service.IV_INFUSION]
    r = c.post(reverse("billing:prices"), {"service": "iv_infusion", "amount": "475", "units": "1"})
    assert r.status_code == 302 and services.price_for(priced, Service.IV_INFUSION).amount_cents == 47500


# ------------------------------------------------------------------------------------------------ the portal
@pytest.fixture
def two_patients(make_portal_patient, staff, rooms, priced, billing, clock):  # noqa: F811
    from datetime import timedelta

    out = []
    for _ in range(2):
        patient, client = make_portal_patient()
        s = dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -1), end="discharged")
        inv = services.invoice_session(actor=billing, session=s)
        est = services.record_due(actor=billing, patient=patient, reason="requested", asked_on=clock.today())
        est = services.issue_estimate(actor=billing, estimate=est, items=[(Service.IV_INFUSION, 6)],
                                      service_on=clock.today(), covers_until=clock.today() + timedelta(days=30))
        out.append((patient, client, inv, est))
    return out


def test_the_patient_sees_their_bills_estimate_and_prices_before_booking(two_patients):
    patient, client, inv, est = two_patients[0]
    page = client.get(reverse("billing:my_billing")).content.decode()
    assert inv.number in page and est.number in page and "$450.00" in page and "What treatment costs" in page
    assert two_patients[1][2].number not in page
    est_page = client.get(reverse("billing:my_estimate", args=[est.external_id])).content.decode()
    assert "$2,700.00" in est_page and "at least $400 more" in est_page


@pytest.mark.parametrize("name", ["billing:my_invoice", "billing:my_estimate"])
def test_one_patient_cannot_reach_another_patients_bills(two_patients, name):
    _, client, _, _ = two_patients[0]
    _, _, other_inv, other_est = two_patients[1]
    target = other_inv if name == "billing:my_invoice" else other_est
    assert client.get(reverse(name, args=[target.external_id])).status_code == 404


def test_one_patient_cannot_download_another_patients_superbill(two_patients):
    _, client, mine, _ = two_patients[0]
    other, _, theirs, _ = two_patients[1]
    assert client.get(reverse("billing:my_superbill"), {"invoice": theirs.external_id}).status_code == 404
    assert client.get(reverse("billing:my_superbill"), {"invoice": "not-a-uuid"}).status_code == 404
    r = client.get(reverse("billing:my_superbill"))
    text = pdf_text(r.content)
    assert mine.number in text and theirs.number not in text and other.mrn not in text


def test_staff_cannot_open_the_patients_portal_billing(invoiced, client_for):
    assert client_for("billing").get(reverse("billing:my_billing")).status_code == 403


def test_the_accountant_csv_lists_the_coded_lines(invoiced, client_for, clock):
    r = client_for("billing").get(reverse("billing:superbill_csv"),
                                  {"start": invoiced.service_on.isoformat(), "end": invoiced.service_on.isoformat()})
    body = r.content.decode()
    assert r["Content-Type"].startswith("text/csv") and invoiced.number in body and "96365" in body


def test_the_front_desk_records_an_estimate_owed_and_returns_to_the_account(patient, client_for, clock):
    from ketaclinic.billing.models import Estimate

    r = client_for("front_desk").post(reverse("billing:record_estimate", args=[patient.external_id]),
                                      {"reason": "requested", "asked_on": clock.today().isoformat()})
    assert r.status_code == 302 and r["Location"] == reverse("billing:account", args=[patient.external_id])
    assert Estimate.objects.get(patient=patient).status == Estimate.Status.DUE
    refused = client_for("front_desk").post(reverse("billing:record_estimate", args=[patient.external_id]),
                                            {"reason": "scheduled", "asked_on": clock.today().isoformat()})
    assert "Give the day the service is scheduled" in refused.content.decode()
    assert Estimate.objects.count() == 1


def test_the_good_faith_estimate_carries_every_required_content(make_portal_patient, staff, priced,  # noqa: F811
                                                                billing, client_for, clock):
    from datetime import timedelta

    from ketaclinic.clinic.services import update_clinic
    from ketaclinic.clinical import gfe
    from ketaclinic.patients.services import add_diagnosis
    from tests.factories import actor

    update_clinic(actor=actor(staff["clinic_admin"]), clinic=priced,
                  data={"address_line1": "12 Harbor Street", "city": "Portland", "state": "ME", "postal_code": "04101"})
    services.update_profile(actor=billing, clinic=priced, organisation_npi="1245319599", tax_id="12-3456789",
                            place_of_service="11")
    services.set_price(actor=billing, clinic=priced, service=Service.IV_INFUSION, amount_cents=45000, code="96365",
                       modifiers="GT")
    patient, client = make_portal_patient()
    add_diagnosis(actor=actor(staff["prescriber"]), patient=patient, code="F33.2")
    service_on = clock.today() + timedelta(days=21)
    est = services.record_due(actor=billing, patient=patient, reason="scheduled", asked_on=clock.today(),
                              service_on=service_on)
    est = services.issue_estimate(actor=billing, estimate=est, items=[(Service.IV_INFUSION, 6)],
                                  service_on=service_on, covers_until=service_on + timedelta(days=30))
    patient.refresh_from_db()
    for page in (client.get(reverse("billing:my_estimate", args=[est.external_id])).content.decode(),
                 client_for("billing").get(reverse("billing:estimate", args=[est.external_id])).content.decode()):
        for needed in (patient.display_name, patient.date_of_birth.isoformat(), priced.name, "1245319599",
                       "12-3456789", "12 Harbor Street", "Portland", "ME", service_on.isoformat(), "96365", "GT",
                       "F33.2", "$2,700.00", "at least $400 more"):
            assert needed in page, needed
        for disclaimer in gfe.GFE_DISCLAIMERS:
            assert disclaimer in page


def test_the_portal_and_account_balance_count_every_invoice_not_only_the_latest(make_portal_patient,  # noqa: F811
                                                                                 priced, billing, client_for):
    from ketaclinic.billing.models import PackageOffer

    patient, client = make_portal_patient()
    offer = services.add_offer(actor=billing, clinic=priced, name="Booster", kind=PackageOffer.Kind.BOOSTER,
                               service=Service.IV_INFUSION, sessions=1, price_cents=100)
    for _ in range(101):
        services.sell_package(actor=billing, patient=patient, offer=offer)
    assert services.balance_of(patient) == 10100
    page = client.get(reverse("billing:my_billing")).content.decode()
    assert "$101.00" in page
    staff_page = client_for("billing").get(reverse("billing:account", args=[patient.external_id])).content.decode()
    assert '<span id="account-balance">$101.00</span>' in staff_page
    chart = client_for("billing").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert "Balance <strong>$101.00</strong>" in chart


def test_the_account_and_portal_pages_read_packages_in_a_fixed_number_of_queries(make_portal_patient,  # noqa: F811
                                                                                 priced, billing, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketaclinic.billing.models import PackageOffer

    patient, client = make_portal_patient()
    offer = services.add_offer(actor=billing, clinic=priced, name="Booster", kind=PackageOffer.Kind.BOOSTER,
                               service=Service.IV_INFUSION, sessions=3, price_cents=90000)
    staff_client = client_for("billing")
    pages = [(client, reverse("billing:my_billing")), (staff_client, reverse("billing:account",
                                                                            args=[patient.external_id]))]

    def queries():
        out = []
        for c, url in pages:
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            out.append(len(ctx))
        return out

    package = services.sell_package(actor=billing, patient=patient, offer=offer)
    services.take_payment(actor=billing, invoice=Invoice.objects.get(package=package), method="cash",
                          amount_cents=90000)
    queries()
    one = queries()
    for _ in range(4):
        services.sell_package(actor=billing, patient=patient, offer=offer)
    assert queries() == one
    assert "3 of 3 sessions left" in client.get(reverse("billing:my_billing")).content.decode()
