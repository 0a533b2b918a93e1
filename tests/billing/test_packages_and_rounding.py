"""Packages: sold at a package price, drawn down one completed session at a time at the package share, unused
sessions refunded by the clinic's rule; the cents of every share add up to the package price."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, PackageOffer, PatientPackage, Payment, Service
from ketaclinic.billing.money import allocate
from tests.factories import dosed_session, open_day

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # dates from the test clock: rerun by .ci/run's date matrix


@given(total=st.integers(min_value=0, max_value=10**9), parts=st.integers(min_value=1, max_value=52))
def test_allocation_always_adds_up_to_the_cent_and_differs_by_at_most_one_cent(total, parts):
    shares = allocate(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1 and all(s >= 0 for s in shares)


def test_a_thousand_dollars_over_three_sessions():
    assert allocate(100000, 3) == [33334, 33333, 33333]


@pytest.fixture
def series(priced, billing):
    return services.add_offer(actor=billing, clinic=priced, name="Induction series (6 IV)",
                              kind=PackageOffer.Kind.INDUCTION, service=Service.IV_INFUSION, sessions=6,
                              price_cents=200000)


@pytest.fixture
def bought(series, patient, billing):
    package = services.sell_package(actor=billing, patient=patient, offer=series)
    invoice = Invoice.objects.get(package=package)
    services.take_payment(actor=billing, invoice=invoice, method="card", amount_cents=200000, reference="T-1")
    return package


def test_each_completed_session_draws_its_share_and_the_draws_add_up_to_the_price(bought, patient, staff, rooms,
                                                                                 billing, clock):

    invoices = []
    for n in range(6):
        s = dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -(12 - 2 * n)),
                          end="discharged")
        invoices.append(services.invoice_session(actor=billing, session=s))
    assert [i.total_cents for i in invoices] == allocate(200000, 6) == [33334, 33334, 33333, 33333, 33333, 33333]
    assert all(services.figures(i).balance == 0 for i in invoices)
    assert sum(i.total_cents for i in invoices) == 200000
    bought.refresh_from_db()
    assert bought.status == PatientPackage.Status.USED and services.remaining_sessions(bought) == 0
    assert services.balance_of(patient) == 0


def test_unused_sessions_are_refunded_prorated_by_default(bought, patient, staff, rooms, billing, clock):

    for n in range(2):
        s = dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -(6 - 2 * n)),
                          end="discharged")
        services.invoice_session(actor=billing, session=s)
    payment = services.refund_unused(actor=billing, package=bought, method="card", reference="T-2",
                                     reason="Stopping treatment")
    assert payment.amount_cents == 200000 - 33334 - 33334 == 133332
    assert payment.kind == Payment.Kind.UNUSED_REFUND
    bought.refresh_from_db()
    assert bought.status == PatientPackage.Status.REFUNDED
    assert services.balance_of(patient) == 0  # the package invoice stays settled
    with pytest.raises(services.BillingError, match="closed"):
        services.refund_unused(actor=billing, package=bought, method="cash")


def test_the_list_price_rule_charges_used_sessions_at_full_price(bought, patient, staff, rooms, billing, clock,
                                                                 priced):

    services.update_profile(actor=billing, clinic=priced, package_refund_rule="list_price")
    for n in range(3):
        s = dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -(6 - 2 * n)),
                          end="discharged")
        services.invoice_session(actor=billing, session=s)
    payment = services.refund_unused(actor=billing, package=bought, method="cash")
    assert payment.amount_cents == 200000 - 3 * 45000


def test_the_no_refund_rule_closes_the_package_without_money_back(bought, billing, priced):
    services.update_profile(actor=billing, clinic=priced, package_refund_rule="none")
    assert services.refund_unused(actor=billing, package=bought, method="cash") is None
    bought.refresh_from_db()
    assert bought.status == PatientPackage.Status.REFUNDED


def test_an_unpaid_package_is_not_drawn_on(series, patient, staff, rooms, billing):
    services.sell_package(actor=billing, patient=patient, offer=series)
    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    invoice = services.invoice_session(actor=billing, session=s)
    assert invoice.total_cents == 45000 and not invoice.payments.exists()


def test_a_package_draw_returned_puts_the_session_back(bought, patient, staff, rooms, billing):
    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    invoice = services.invoice_session(actor=billing, session=s)
    assert services.remaining_sessions(bought) == 5
    with pytest.raises(services.BillingError, match="returned whole"):
        services.refund(actor=billing, invoice=invoice, method="package", amount_cents=100, reason="x")
    services.refund(actor=billing, invoice=invoice, method="package", amount_cents=33334, reason="Session voided")
    assert services.remaining_sessions(bought) == 6
    services.void_invoice(actor=billing, invoice=invoice, reason="Billed in error")
    assert services.next_draw_cents(bought) == 33334


def test_a_second_draw_is_returned_to_the_package_it_came_from(bought, series, patient, staff, rooms, billing):
    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    invoice = services.invoice_session(actor=billing, session=s)  # drawn from the first package
    services.refund(actor=billing, invoice=invoice, method="package", amount_cents=33334, reason="Wrong package")
    second = services.sell_package(actor=billing, patient=patient, offer=series)
    services.take_payment(actor=billing, invoice=Invoice.objects.get(package=second), method="card",
                          amount_cents=200000, reference="T-2")
    services.draw(actor=billing, invoice=invoice, package=second)
    assert services.remaining_sessions(second) == 5
    services.refund(actor=billing, invoice=invoice, method="package",
                    amount_cents=services.refundable(invoice)["package"], reason="Session voided")
    assert services.remaining_sessions(bought) == 6 and services.drawn_cents(bought) == 0
    assert services.remaining_sessions(second) == 6 and services.drawn_cents(second) == 0
    with pytest.raises(services.BillingError):
        services.refund(actor=billing, invoice=invoice, method="package", amount_cents=33334, reason="Again")


def test_a_draw_is_not_returned_into_a_package_whose_unused_sessions_were_refunded(bought, patient, staff, rooms,
                                                                                 billing):
    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    invoice = services.invoice_session(actor=billing, session=s)
    services.refund_unused(actor=billing, package=bought, method="card", reference="T-2")
    with pytest.raises(services.BillingError, match="unused sessions refunded"):
        services.refund(actor=billing, invoice=invoice, method="package", amount_cents=33334, reason="Oops")
    assert services.used_sessions(bought) == 1
    assert services.refundable(invoice)["package"] == 33334
