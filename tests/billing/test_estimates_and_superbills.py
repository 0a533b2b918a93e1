"""Good Faith Estimates (itemised, with codes, diagnoses and the regulation's deadline; flagged when the bill is
$400 or more above) and superbills (clinic and provider NPI, tax ID, place of service, ICD-10-CM, CPT/HCPCS with
modifiers, units, charges, dates; the PDF and the accountant's CSV)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ketaclinic.billing import services
from ketaclinic.billing.models import Estimate, Invoice, Service
from ketaclinic.billing.services import superbills
from ketaclinic.clinical import gfe
from ketaclinic.patients.services import add_diagnosis
from tests.billing.conftest import cancelled
from tests.factories import actor, dosed_session, open_day
from tests.pdfread import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # dates from the test clock: rerun by .ci/run's date matrix


@pytest.fixture
def diagnosed(patient, staff):
    add_diagnosis(actor=actor(staff["prescriber"]), patient=patient, code="F33.2")
    return patient


def test_an_estimate_is_due_by_the_regulation_and_issued_itemised(diagnosed, priced, billing, clock):
    today = clock.today()
    service_on = today + timedelta(days=21)
    est = services.record_due(actor=billing, patient=diagnosed, reason="scheduled", asked_on=today,
                              service_on=service_on)
    assert est.due_on == gfe.estimate_due(reason="scheduled", asked_on=today, service_on=service_on,
                                         open_weekdays=priced.weekdays()).due_on
    assert est in services.due_list(priced)
    est = services.issue_estimate(actor=billing, estimate=est, items=[(Service.IV_INFUSION, 6),
                                                                      (Service.INTEGRATION, 6)],
                                  service_on=service_on, covers_until=service_on + timedelta(days=21))
    assert est.status == Estimate.Status.ISSUED and est.total_cents == 6 * 45000 + 6 * 15000
    assert [(x.code, x.quantity) for x in est.lines.all()] == [("96365", 6), ("90834", 6)]
    assert est.diagnoses[0]["code"] == "F33.2"
    assert est not in services.due_list(priced)
    with pytest.raises(services.BillingError, match="issued"):
        services.issue_estimate(actor=billing, estimate=est, items=[(Service.IV_INFUSION, 1)],
                                service_on=service_on, covers_until=service_on)


def test_an_estimate_without_lines_or_with_an_unpriced_service_is_refused(patient, clinic, billing, clock):
    est = services.record_due(actor=billing, patient=patient, reason="requested", asked_on=clock.today())
    with pytest.raises(services.BillingError) as e:
        services.issue_estimate(actor=billing, estimate=est, items=[(Service.IV_INFUSION, 1)],
                                service_on=clock.today(), covers_until=clock.today())
    assert "No price is set" in e.value.errors["items"]
    assert Estimate.objects.get(pk=est.pk).status == Estimate.Status.DUE


def test_a_bill_400_above_the_estimate_goes_on_the_exceeded_worklist(diagnosed, staff, rooms, priced, billing,
                                                                     clock):
    today = clock.today()
    est = services.record_due(actor=billing, patient=diagnosed, reason="requested", asked_on=today - timedelta(6))
    services.issue_estimate(actor=billing, estimate=est, items=[(Service.CONSULT, 1)],
                            service_on=today - timedelta(5), covers_until=today + timedelta(days=30))
    s = dosed_session(diagnosed, staff, rooms=rooms, start=open_day(priced, -2), end="discharged")
    invoice = services.invoice_session(actor=billing, session=s)
    assert invoice.estimate == est
    assert services.exceeded(priced) == []  # 450 billed against 350: 100 above
    s2 = dosed_session(diagnosed, staff, rooms=rooms, end="discharged")
    services.invoice_session(actor=billing, session=s2)  # 900 against 350: 550 above
    assert [e.pk for e in services.exceeded(priced)] == [est.pk]
    with pytest.raises(services.BillingError, match="issued estimate cannot be withdrawn"):
        services.withdraw_estimate(actor=billing, estimate=est, reason="Bill is too high")
    assert [e.pk for e in services.exceeded(priced)] == [est.pk]  # the flag stays


def test_an_estimate_still_due_can_be_withdrawn(diagnosed, priced, billing, clock):
    est = services.record_due(actor=billing, patient=diagnosed, reason="requested", asked_on=clock.today())
    est = services.withdraw_estimate(actor=billing, estimate=est, reason="Asked in error")
    assert est.status == Estimate.Status.WITHDRAWN and est not in services.due_list(priced)


def test_an_issued_estimate_cannot_be_changed_in_the_database(diagnosed, priced, billing, clock):
    from django.db import DatabaseError, transaction

    est = services.record_due(actor=billing, patient=diagnosed, reason="requested", asked_on=clock.today())
    est = services.issue_estimate(actor=billing, estimate=est, items=[(Service.CONSULT, 1)],
                                  service_on=clock.today(), covers_until=clock.today() + timedelta(days=30))
    for change in ({"total_cents": 1}, {"diagnoses": []}, {"issued_at": None}, {"status": "withdrawn"}):
        with pytest.raises(DatabaseError, match="issued estimate"), transaction.atomic():
            Estimate.objects.filter(pk=est.pk).update(**change)
    est.refresh_from_db()
    assert est.total_cents == 35000 and est.status == Estimate.Status.ISSUED


def test_the_superbill_carries_every_identifier_code_and_charge(diagnosed, staff, rooms, priced, billing):
    staff["prescriber"].npi = "1234567893"
    staff["prescriber"].save(update_fields=["npi"])
    services.update_profile(actor=billing, clinic=priced, organisation_npi="1245319599", tax_id="12-3456789",
                            place_of_service="11")
    s = dosed_session(diagnosed, staff, rooms=rooms, end="discharged")
    assert s.order.signed_by == staff["prescriber"]
    invoice = services.invoice_session(actor=billing, session=s)
    services.take_payment(actor=billing, invoice=invoice, method="cash", amount_cents=45000)
    bills = superbills.superbills(Invoice.objects.filter(patient=diagnosed))
    assert len(bills) == 1
    b = bills[0]
    assert (b.clinic_npi, b.tax_id, b.place_of_service) == ("1245319599", "12-3456789", "11")
    row = superbills.csv_rows(bills)[0]
    header = superbills.CSV_HEADER
    got = dict(zip(header, row, strict=True))
    assert got["Code"] == "96365" and got["Units"] == "1" and got["Charge"] == "450.00" and got["Paid"] == "450.00"
    assert got["Diagnoses (ICD-10-CM)"] == "F33.2" and got["Date of service"] == invoice.service_on.isoformat()
    text = pdf_text(superbills.superbill_pdf(diagnosed, bills))
    for needle in ("1245319599", "12-3456789", "F33.2", "96365", "$450.00", invoice.number, diagnosed.mrn,
                   invoice.service_on.isoformat()):
        assert needle in text, needle


def test_a_voided_invoice_and_a_package_sale_are_not_on_the_superbill(invoiced, billing, patient, priced):
    from ketaclinic.billing.models import PackageOffer

    offer = services.add_offer(actor=billing, clinic=priced, name="Boosters", kind=PackageOffer.Kind.BOOSTER,
                               service=Service.IV_INFUSION, sessions=3, price_cents=120000)
    services.sell_package(actor=billing, patient=patient, offer=offer)
    services.void_invoice(actor=billing, invoice=invoiced, reason="Wrong patient")
    assert superbills.superbills(Invoice.objects.filter(patient=patient)) == []



def test_a_booking_without_an_estimate_is_listed_with_its_deadline_until_one_is_recorded(patient, staff, rooms,
                                                                                        priced, billing, clock):
    from tests.factories import book_at, make_order

    order = make_order(patient, staff)
    s = book_at(order, staff, open_day(priced, 10), room=rooms["infusion"])
    day = s.scheduled_start.astimezone(priced.tz).date()
    [row] = services.uncovered_bookings(priced)
    assert row["patient"] == patient and row["day"] == day
    assert row["due_on"] == gfe.estimate_due(reason="scheduled", asked_on=clock.today(), service_on=day,
                                             open_weekdays=priced.weekdays()).due_on
    services.record_due(actor=billing, patient=patient, reason="scheduled", asked_on=clock.today(), service_on=day)
    assert services.uncovered_bookings(priced) == []


def test_a_no_show_fee_is_not_on_the_superbill(patient, staff, rooms, priced, billing, clock):
    from tests.factories import clinic_open, make_order

    order = make_order(patient, staff)
    s = cancelled(order, staff, rooms, clinic_open(priced, minutes=30 + 160) + timedelta(minutes=30),
                  "Did not come", no_show=True)
    fee = services.invoice_session(actor=billing, session=s)
    assert fee.kind == Invoice.Kind.FEE
    assert superbills.superbills(Invoice.objects.filter(patient=patient)) == []
