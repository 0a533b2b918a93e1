"""Two billers at the same moment: a session is never invoiced twice, and two payments never take more than is
owed. Needs PostgreSQL (real row locks and concurrent connections): skipped on SQLite with a visible reason."""

from __future__ import annotations

import pytest

from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, Payment
from tests.concurrency import at_once
from tests.factories import actor

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_billers_invoicing_one_session_at_once_make_one_invoice(completed, staff):
    people = [actor(staff["billing"]), actor(staff["clinic_admin"])]
    results = at_once([lambda a=a: services.invoice_session(actor=a, session=completed) for a in people])
    made = [r for r in results if isinstance(r, Invoice)]
    refused = [r for r in results if isinstance(r, services.BillingError)]
    assert len(made) == 1 and len(refused) == 1, results
    assert "already invoiced" in str(refused[0])
    assert Invoice.objects.filter(treatment_session=completed).count() == 1


def test_two_payments_at_once_never_take_more_than_is_owed(invoiced, staff):
    people = [actor(staff["billing"]), actor(staff["front_desk"])]
    results = at_once([lambda a=a: services.take_payment(actor=a, invoice=invoiced, method="cash", amount_cents=30000)
                       for a in people])
    assert sum(isinstance(r, Payment) for r in results) == 1, results
    assert sum(isinstance(r, services.BillingError) for r in results) == 1, results
    assert services.figures(invoiced).balance == 15000
    assert services.balances_out_of_step() == []  # the kept balance too (the database's triggers)


def test_two_sessions_invoiced_at_once_from_one_package_are_each_paid_to_the_cent(patient, staff, rooms, priced,
                                                                                  billing, clock):

    from ketaclinic.billing.models import PackageOffer
    from tests.factories import dosed_session, open_day

    offer = services.add_offer(actor=billing, clinic=priced, name="Three", kind=PackageOffer.Kind.INDUCTION,
                               service="iv_infusion", sessions=3, price_cents=100000)
    package = services.sell_package(actor=billing, patient=patient, offer=offer)
    services.take_payment(actor=billing, invoice=Invoice.objects.get(package=package), method="card",
                          amount_cents=100000, reference="T-1")
    sessions = [dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -days), end="discharged")
                for days in (2, 1)]
    people = [actor(staff["billing"]), actor(staff["clinic_admin"])]
    results = at_once([lambda a=a, s=s: services.invoice_session(actor=a, session=s)
                       for a, s in zip(people, sessions, strict=True)])
    assert all(isinstance(r, Invoice) for r in results), results
    assert sorted(r.total_cents for r in results) == [33333, 33334]
    assert all(services.figures(r).balance == 0 for r in results)
    assert services.drawn_cents(package) == 66667
    assert services.balances_out_of_step() == []
