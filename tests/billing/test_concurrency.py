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
