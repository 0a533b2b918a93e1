"""Invoices from completed sessions, payments, refunds and voids: money in whole cents, every change audited,
bad input refused with nothing changed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from ketaclinic.audit.models import AuditEntry
from ketaclinic.billing import services
from ketaclinic.billing.models import Invoice, InvoiceLine, Payment, PriceVersion, Service
from tests.billing.conftest import PRICES, cancelled
from tests.factories import actor, book_at, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # dates from the test clock: rerun by .ci/run's date matrix


def snapshot():
    return (Invoice.objects.count(), Payment.objects.count(), InvoiceLine.objects.count(),
            AuditEntry.objects.filter(action__startswith="billing.").count())


def test_a_completed_iv_session_is_invoiced_at_its_price_with_its_code_and_diagnoses(invoiced, completed, staff):
    line = invoiced.lines.get()
    assert (line.service, line.code, line.amount_cents) == (Service.IV_INFUSION, "96365", PRICES[Service.IV_INFUSION])
    assert invoiced.total_cents == 45000 and invoiced.treatment_session == completed
    assert invoiced.rendering_provider == completed.order.signed_by
    assert AuditEntry.objects.filter(action="billing.invoice.issued", subject_id=str(invoiced.external_id)).exists()


def test_a_session_is_never_invoiced_twice(invoiced, completed, billing):
    before = snapshot()
    with pytest.raises(services.BillingError, match="already invoiced"):
        services.invoice_session(actor=billing, session=completed)
    assert snapshot() == before


def test_the_database_refuses_a_second_live_invoice_for_the_same_session(invoiced, completed):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(clinic=invoiced.clinic, patient=invoiced.patient, number="INV-X", kind="session",
                               service_on=invoiced.service_on, treatment_session=completed, total_cents=1)


def test_a_voided_invoice_lets_the_session_be_invoiced_again(invoiced, completed, billing):
    services.void_invoice(actor=billing, invoice=invoiced, reason="Wrong price version")
    again = services.invoice_session(actor=billing, session=completed)
    assert again.pk != invoiced.pk
    invoiced.refresh_from_db()
    assert invoiced.is_void and invoiced.void_reason == "Wrong price version"


def test_an_invoice_keeps_the_price_it_was_issued_with(invoiced, priced, billing):
    services.set_price(actor=billing, clinic=priced, service=Service.IV_INFUSION, amount_cents=52500)
    invoiced.refresh_from_db()
    assert invoiced.total_cents == 45000 and invoiced.lines.get().price_version.version == 1
    assert services.price_for(priced, Service.IV_INFUSION).amount_cents == 52500
    assert PriceVersion.objects.filter(service=Service.IV_INFUSION).count() == 2


def test_cash_then_card_pays_the_invoice_off(invoiced, billing, staff):
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=20000)
    services.take_payment(actor=actor(staff["front_desk"]), invoice=invoiced, method="card", amount_cents=25000,
                          reference="TERM-0042")
    assert services.figures(invoiced).balance == 0
    assert services.balance_of(invoiced.patient) == 0
    assert AuditEntry.objects.filter(action="billing.payment.taken").count() == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "cash", "amount_cents": 0}, "above"),
    ({"method": "cash", "amount_cents": -100}, "above"),
    ({"method": "cash", "amount_cents": 45001}, "Only \\$450.00 is owed"),
    ({"method": "card", "amount_cents": 100}, "terminal's reference"),
    ({"method": "card", "amount_cents": 100, "reference": "4111 1111 1111 1111"}, "card number"),
    ({"method": "cheque", "amount_cents": 100}, "Cash or card"),
])
def test_bad_payments_are_refused_and_change_nothing(invoiced, billing, kwargs, message):
    before = snapshot()
    with pytest.raises(services.BillingError, match=message):
        services.take_payment(actor=billing, invoice=invoiced, **kwargs)
    assert snapshot() == before


def test_a_refund_is_never_above_what_was_paid(invoiced, billing):
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=10000)
    before = snapshot()
    with pytest.raises(services.BillingError, match="Only \\$100.00 was paid"):
        services.refund(actor=billing, invoice=invoiced, method="cash", amount_cents=10001, reason="Overcharged")
    assert snapshot() == before
    services.refund(actor=billing, invoice=invoiced, method="cash", amount_cents=10000, reason="Overcharged")
    assert services.figures(invoiced).balance == 45000
    with pytest.raises(services.BillingError, match="Only \\$0.00"):
        services.refund(actor=billing, invoice=invoiced, method="cash", amount_cents=1, reason="again")


def test_no_payment_on_a_voided_invoice(invoiced, billing):
    services.void_invoice(actor=billing, invoice=invoiced, reason="Duplicate visit")
    before = snapshot()
    with pytest.raises(services.BillingError, match="void"):
        services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=100)
    assert snapshot() == before


def test_an_invoice_with_money_on_it_is_not_voided_until_refunded(invoiced, billing):
    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=5000)
    with pytest.raises(services.BillingError, match="refund it before voiding"):
        services.void_invoice(actor=billing, invoice=invoiced, reason="x")
    with pytest.raises(services.BillingError, match="reason"):
        services.void_invoice(actor=billing, invoice=invoiced, reason="  ")
    assert not Invoice.objects.get(pk=invoiced.pk).is_void


def test_an_invoice_cannot_be_deleted_or_edited_after_it_is_issued(invoiced):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoiced.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoiced.pk).update(total_cents=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoiced).update(amount_cents=1)


def test_a_void_is_final(invoiced, billing):
    from django.db import DatabaseError

    services.void_invoice(actor=billing, invoice=invoiced, reason="Entered against the wrong patient")
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoiced.pk).update(void_reason="changed")
    with pytest.raises(services.BillingError, match="already void"):
        services.void_invoice(actor=billing, invoice=invoiced, reason="again")


def test_the_invoice_set_once_trigger_names_every_other_column():
    from ketaclinic.audit.append_only import SET_ONCE

    column, others = SET_ONCE["billing_invoice"]
    names = {f.column for f in Invoice._meta.concrete_fields}
    assert set(others) | {column, "voided_by_id", "void_reason"} == names


def test_a_no_show_is_charged_the_fee_and_a_timely_cancellation_nothing(patient, staff, rooms, priced, billing,
                                                                        clock):
    from datetime import timedelta

    from tests.factories import clinic_open, open_day

    order = make_order(patient, staff)
    no_show = cancelled(order, staff, rooms, clinic_open(priced, minutes=30 + 160) + timedelta(minutes=30),
                        "Did not come", no_show=True)
    fee = services.invoice_session(actor=billing, session=no_show)
    assert fee.kind == Invoice.Kind.FEE and fee.total_cents == PRICES[Service.NO_SHOW_FEE]
    assert fee.lines.get().code == ""  # no code is invented for a fee
    later = cancelled(order, staff, rooms, open_day(priced, 3), "Patient asked")
    before = snapshot()
    with pytest.raises(services.BillingError, match="no fee applies"):
        services.invoice_session(actor=billing, session=later)
    assert snapshot() == before


def test_a_late_cancellation_is_charged_by_the_clinic_window(patient, staff, rooms, priced, billing, clock):
    from datetime import timedelta

    from tests.factories import clinic_open

    order = make_order(patient, staff)
    soon = cancelled(order, staff, rooms, clinic_open(priced, minutes=5 * 60 + 160) + timedelta(hours=5),
                     "Patient asked")
    fee = services.invoice_session(actor=billing, session=soon, patient_cancelled=True)
    assert "late cancellation" in fee.lines.get().description


def test_a_late_cancellation_is_not_charged_until_a_person_confirms_the_patient_cancelled(patient, staff, rooms,
                                                                                          priced, billing, clock):
    from datetime import timedelta

    from tests.factories import clinic_open

    order = make_order(patient, staff)
    soon = cancelled(order, staff, rooms, clinic_open(priced, minutes=5 * 60 + 160) + timedelta(hours=5),
                     "Rescheduled")
    before = snapshot()
    with pytest.raises(services.BillingError, match="confirm the patient cancelled"):
        services.invoice_session(actor=billing, session=soon)
    assert snapshot() == before
    after_start = clock.now() + timedelta(hours=6)
    assert soon in services.to_invoice(priced, now=after_start)["missed"]  # on the worklist for a person to decide


def test_a_session_the_clinic_cancelled_automatically_is_never_charged_the_late_fee(patient, staff, rooms, priced,
                                                                                   billing, clock):
    from datetime import timedelta

    from tests.factories import clinic_open, make_eligible

    order = make_order(patient, staff)
    soon = book_at(order, staff, clinic_open(priced, minutes=5 * 60 + 160) + timedelta(hours=5),
                   room=rooms["infusion"])
    make_eligible(patient, staff, drug="ketamine", flags=("aneurysmal_vascular_disease",))  # cancels it
    soon.refresh_from_db()
    assert soon.status == "cancelled"
    before = snapshot()
    with pytest.raises(services.BillingError, match="clinic cancelled"):
        services.invoice_session(actor=billing, session=soon, patient_cancelled=True)
    assert snapshot() == before


def test_a_booked_session_not_yet_treated_is_not_invoiced(patient, staff, rooms, priced, billing, clock):

    from tests.factories import open_day

    order = make_order(patient, staff)
    s = book_at(order, staff, open_day(priced, 2), room=rooms["infusion"])
    with pytest.raises(services.BillingError, match="treated in"):
        services.invoice_session(actor=billing, session=s)


@pytest.mark.parametrize("role", ["prescriber", "nurse", "therapist", "front_desk", "compliance"])
def test_only_billing_and_the_clinic_admin_invoice_refund_and_void(invoiced, completed, staff, role):
    who = actor(staff[role])
    before = snapshot()
    with pytest.raises(services.BillingError, match="Your role"):
        services.void_invoice(actor=who, invoice=invoiced, reason="x")
    with pytest.raises(services.BillingError, match="Your role"):
        services.refund(actor=who, invoice=invoiced, method="cash", amount_cents=1, reason="x")
    with pytest.raises(services.BillingError, match="Your role"):
        services.set_price(actor=who, clinic=invoiced.clinic, service=Service.IV_INFUSION, amount_cents=1)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["prescriber", "nurse", "therapist", "compliance"])
def test_clinicians_and_compliance_take_no_payments(invoiced, staff, role):
    with pytest.raises(services.BillingError, match="Your role"):
        services.take_payment(actor=actor(staff[role]), invoice=invoiced, method="cash", amount_cents=100)


def test_statement_runs_the_balance_and_aging_buckets_by_days(invoiced, billing, clock):
    from datetime import timedelta

    services.take_payment(actor=billing, invoice=invoiced, method="cash", amount_cents=5000)
    rows = services.statement(invoiced.patient)
    assert [r.balance for r in rows] == [45000, 40000]
    report = services.aging(invoiced.clinic)
    assert report.totals["current"] == 40000 and report.total == 40000
    later = services.aging(invoiced.clinic, today=clock.today() + timedelta(days=45))
    assert later.totals["31-60"] == 40000 and later.counts["31-60"] == 1


@pytest.mark.parametrize("days, bucket", [(0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
                                          (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+")])
def test_aging_bucket_edges(days, bucket):
    from ketaclinic.billing.services.invoices import bucket as bucket_of

    assert bucket_of(days) == bucket


def test_a_missed_chair_time_appointment_is_not_charged_from_the_calendar(patient, staff, rooms, priced, billing,
                                                                          clock):
    from datetime import timedelta

    from ketaclinic.scheduling import services as scheduling
    from tests.scheduling.conftest import next_week_at, open_every_day, types

    admin = actor(staff["clinic_admin"])
    open_every_day(priced, admin, [staff["prescriber"], staff["nurse"]])
    a = scheduling.book_appointment(actor=actor(staff["front_desk"]), clinic=priced,
                                    type=types(priced)["treatment"], start=next_week_at(priced, 10),
                                    clinician=staff["nurse"], room=rooms["infusion"], chair=rooms["a1"],
                                    patient=patient)
    clock.move_to(a.start + timedelta(minutes=20))
    scheduling.cancel(actor=actor(staff["front_desk"]), appointment=a, reason="did_not_attend", no_show=True)
    assert a not in services.to_invoice(priced)["missed_visits"]
    with pytest.raises(services.BillingError, match="treatment session"):
        services.invoice_visit(actor=billing, appointment=a)
    assert not Invoice.objects.filter(appointment=a).exists()


def test_an_esketamine_session_of_unknown_dose_bills_the_lower_band():
    from decimal import Decimal

    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    def session(mg):
        order = TreatmentOrder(drug="esketamine", fixed_dose_mg=mg)
        return TreatmentSession(drug="esketamine", order=order, administered_mg=None, prepared_dose_mg=None)

    assert services.session_service(session(None)) == Service.ESKETAMINE_56
    assert services.session_service(session(Decimal("56"))) == Service.ESKETAMINE_56
    assert services.session_service(session(Decimal("84"))) == Service.ESKETAMINE_84
