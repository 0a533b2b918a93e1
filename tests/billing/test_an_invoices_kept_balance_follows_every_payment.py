"""What is owed on each invoice is kept beside it (``InvoiceBalance``) for the aging report and the unpaid list, by
the database's triggers: every use case that moves money, and any other writer of an invoice or a payment (the
release before, during an upgrade), leaves it equal to the invoice's total less payments plus refunds (0 once
voided); the upgrade gives the invoices issued before it theirs; a balance changed behind the application's back is
named."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db.models import F
from django.utils import timezone

from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, InvoiceBalance, PackageOffer, Payment, Service
from tests.factories import dosed_session, open_day

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # dates from the test clock: rerun by .ci/run's date matrix


def owed(invoice: Invoice) -> int:
    return InvoiceBalance.objects.get(pk=invoice.pk).owed_cents


def kept(invoice: Invoice) -> int:
    """The kept balance, after checking it against the payments (and every other invoice's)."""
    assert services.balances_out_of_step() == []
    figures = services.figures(invoice)
    assert owed(invoice) == (0 if Invoice.objects.get(pk=invoice.pk).is_void else figures.balance)
    return owed(invoice)


def test_payments_and_refunds_move_the_balance_and_a_void_clears_it(invoiced, billing, completed):
    assert kept(invoiced) == 45000
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=20000)
    assert kept(invoiced) == 25000
    services.take_payment(actor=billing, invoice=invoiced, method="card", amount_cents=25000, reference="T-7")
    assert kept(invoiced) == 0
    services.refund(actor=billing, invoice=invoiced, method="card", amount_cents=25000, reason="Charged twice",
                    reference="T-8")
    assert kept(invoiced) == 25000
    services.refund(actor=billing, invoice=invoiced, method="cash", amount_cents=20000, reason="Wrong price")
    assert kept(invoiced) == 45000
    services.void_invoice(actor=billing, invoice=invoiced, reason="Wrong price version")
    assert kept(invoiced) == 0
    again = services.invoice_session(actor=billing, session=completed)
    assert kept(again) == 45000


def test_a_payment_written_by_a_release_that_knows_nothing_of_balances_moves_the_balance_too(invoiced, billing):
    # as the release before writes a payment while the upgrade that added the balances runs: the row alone
    Payment.objects.create(invoice=invoiced, kind=Payment.Kind.PAYMENT, method=Payment.Method.CASH,
                           amount_cents=15000, receipt_number="RCP-OLD-1")
    assert kept(invoiced) == 30000
    Invoice.objects.filter(pk=invoiced.pk).update(voided_at=timezone.now(), void_reason="Voided by the old release")
    assert kept(invoiced) == 0


def test_package_draws_their_return_and_an_unused_refund_keep_every_balance(priced, patient, staff, rooms, billing,
                                                                           clock):
    offer = services.add_offer(actor=billing, clinic=priced, name="Induction series (6 IV)",
                               kind=PackageOffer.Kind.INDUCTION, service=Service.IV_INFUSION, sessions=6,
                               price_cents=200000)
    package = services.sell_package(actor=billing, patient=patient, offer=offer)
    sold = Invoice.objects.get(package=package)
    assert kept(sold) == 200000
    services.take_payment(actor=billing, invoice=sold, method="card", amount_cents=200000, reference="T-1")
    assert kept(sold) == 0
    sessions = [dosed_session(patient, staff, rooms=rooms, start=open_day(patient.clinic, -(12 - 2 * n)),
                              end="discharged") for n in range(2)]
    first = services.invoice_session(actor=billing, session=sessions[0])  # paid at once from the package
    assert first.total_cents == 33334 and kept(first) == 0
    services.refund(actor=billing, invoice=first, method="package", amount_cents=33334, reason="Drawn in error")
    assert kept(first) == 33334  # the session went back into the package: owed again
    services.draw(actor=billing, invoice=first, package=package)
    assert kept(first) == 0
    services.refund_unused(actor=billing, package=package, method="card", reference="T-2", reason="Moving away")
    assert kept(sold) == 0  # money back for unused sessions lowers the package's cost as well as what was paid


def test_the_aging_report_and_the_unpaid_list_read_the_kept_balances(invoiced, billing, completed):
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=5000)
    report = services.aging(invoiced.clinic)
    assert (report.total, sum(report.counts.values()), report.totals["current"]) == (40000, 1, 40000)
    assert [(inv.pk, fig.balance) for inv, fig in services.unpaid(invoiced.clinic)] == [(invoiced.pk, 40000)]
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=40000)
    report = services.aging(invoiced.clinic)
    assert (report.total, sum(report.counts.values())) == (0, 0)  # a paid invoice is not counted as owing $0
    assert services.unpaid(invoiced.clinic) == []


def test_a_balance_changed_behind_the_applications_back_is_named(invoiced):
    InvoiceBalance.objects.filter(pk=invoiced.pk).update(owed_cents=F("owed_cents") - 1)
    assert services.balances_out_of_step() == [invoiced.number]
    InvoiceBalance.objects.filter(pk=invoiced.pk).update(owed_cents=F("owed_cents") + 1,
                                                         issued_at=F("issued_at") - timedelta(days=40))
    assert services.balances_out_of_step() == [invoiced.number]  # moved into an older aging bucket
    InvoiceBalance.objects.filter(pk=invoiced.pk).delete()
    assert services.balances_out_of_step(invoiced.clinic) == [invoiced.number]


def test_the_upgrade_gives_every_invoice_already_issued_its_balance(invoiced, billing, priced, patient, monkeypatch):
    from importlib import import_module

    from django.db import connection

    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=20000)
    services.refund(actor=billing, invoice=invoiced, method="cash", amount_cents=5000, reason="Discount")
    offers = [services.add_offer(actor=billing, clinic=priced, name=f"Booster bundle {n} (3 IV)",
                                 kind=PackageOffer.Kind.BOOSTER, service=Service.IV_INFUSION, sessions=3,
                                 price_cents=120000) for n in (1, 2)]
    voided = Invoice.objects.get(package=services.sell_package(actor=billing, patient=patient, offer=offers[0]))
    services.void_invoice(actor=billing, invoice=voided, reason="Sold in error")
    package = services.sell_package(actor=billing, patient=patient, offer=offers[1])
    refunded = Invoice.objects.get(package=package)
    services.take_payment(actor=billing, invoice=refunded, method="card", amount_cents=120000, reference="T-3")
    services.refund_unused(actor=billing, package=package, method="card", reference="T-4", reason="Moving away")
    InvoiceBalance.objects.all().delete()  # as before the upgrade: no balance kept
    upgrade = import_module("ketaclinic.billing.migrations.0004_invoice_balance_backfill")
    monkeypatch.setattr(upgrade, "BATCH", 2)  # the three invoices in two batches
    upgrade.backfill(None, SimpleNamespace(connection=connection))
    assert services.balances_out_of_step() == []
    assert (owed(invoiced), owed(voided), owed(refunded)) == (30000, 0, 0)
