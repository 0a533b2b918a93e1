"""Custody use cases as a clinic meets them: receiving, draws, administration, waste, disposal, counts, corrections."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.custody import services
from ketaclinic.custody.models import Container, Incident, LedgerEntry, PendingEvent
from ketaclinic.custody.services import CountInput, CustodyError
from tests.factories import dosing_started, dosing_stopped

pytestmark = pytest.mark.django_db


def test_receipt_needs_a_second_person_and_stock_appears_only_after_countersign(actor_for, supplier, location,
                                                                                vial_product):
    today = timezone.localdate()
    receipt = services.enter_receipt(actor_for("nurse"), supplier=supplier, invoice_number="INV-1", invoice_date=today,
                                     received_on=today, product=vial_product, lot_number="K123",
                                     expiry=today + timedelta(days=300), packages=3, location=location)
    assert Container.objects.count() == 0
    with pytest.raises(CustodyError, match="second person"):
        services.countersign_receipt(actor_for("nurse"), receipt)
    containers = services.countersign_receipt(actor_for("prescriber"), receipt)
    assert [c.balance for c in containers] == [Decimal("10.00")] * 3
    entries = LedgerEntry.objects.filter(kind="receive")
    assert entries.count() == 3 and {e.witness_id for e in entries} == {receipt.entered_by_id}
    with pytest.raises(CustodyError, match="already"):
        services.countersign_receipt(actor_for("nurse"), receipt)


def test_receipt_refuses_expired_lot_future_dates_and_bad_supplier_dea(actor_for, admin_actor, location, vial_product,
                                                                      supplier):
    today = timezone.localdate()
    with pytest.raises(CustodyError) as e:
        services.enter_receipt(actor_for("nurse"), supplier=supplier, invoice_number="", invoice_date=today + timedelta(1),
                               received_on=today, product=vial_product, lot_number="", expiry=today - timedelta(1),
                               packages=0, location=location)
    assert set(e.value.errors) >= {"invoice_number", "invoice_date", "lot_number", "expiry", "packages"}
    with pytest.raises(CustodyError) as e:
        services.add_supplier(admin_actor, name="Bad", address="x", dea_number="PS1234567")
    assert "check digit" in e.value.errors["dea_number"]


def test_draw_for_verified_session_and_remaining_derived(make_patient, make_session, receive, vial_product, actor_for):
    [vial] = receive(vial_product)
    session = make_session(make_patient(), dose_mg="35")
    entry = services.draw(actor_for("nurse"), container=vial, session=session, quantity="0.8")
    vial.refresh_from_db()
    assert vial.balance == Decimal("9.20") and vial.opened_at is not None
    assert entry.details["remaining_after"] == "9.20"
    assert entry.mg == Decimal("40.00") and entry.session == session and entry.patient == session.patient
    assert AuditEntry.objects.filter(action="custody.draw", patient=session.patient).exists()


@pytest.mark.parametrize("problem", ["unverified", "too_much", "expired", "other_location", "past_bud", "wrong_drug"])
def test_draw_refusals(problem, make_patient, make_session, receive, vial_product, device_product, actor_for,
                       other_location, clinic):
    [vial] = receive(vial_product, where=other_location if problem == "other_location" else None)
    if problem == "other_location":  # the dose is prepared from stock in the session's own store
        receive(vial_product, lot="LOT-B2")
    if problem == "wrong_drug":  # the esketamine dose is prepared from devices the clinic holds
        receive(device_product, lot="ESK-1")
    session = make_session(make_patient(), verified=problem != "unverified",
                           drug="esketamine" if problem == "wrong_drug" else "ketamine")
    quantity = "10.01" if problem == "too_much" else "1"
    now = None
    if problem == "expired":
        lot = vial.lot
        type(lot).objects.filter(pk=lot.pk).update(expiry=timezone.localdate() - timedelta(days=1))
    if problem == "past_bud":
        services.draw(actor_for("nurse"), container=vial, session=make_session(make_patient()), quantity="1")
        now = timezone.now() + timedelta(hours=int(clinic.limits()["custody.opened_vial_beyond_use_hours"]) + 1)
    before = Container.objects.get(pk=vial.pk).balance
    with pytest.raises(CustodyError) as e:
        services.draw(actor_for("nurse"), container=vial, session=session, quantity=quantity, now=now)
    assert {"unverified": "verified", "too_much": "more than", "expired": "expired",
            "other_location": "does not supply", "past_bud": "beyond-use", "wrong_drug": "Esketamine"}[problem] \
        in e.value.errors["quantity"]
    assert Container.objects.get(pk=vial.pk).balance == before


def test_administer_then_witnessed_waste_balances_the_draw(make_patient, make_session, receive, vial_product,
                                                          actor_for, staff):
    [vial] = receive(vial_product)
    session = make_session(make_patient(), dose_mg="35")
    services.draw(actor_for("nurse"), container=vial, session=session, quantity="1.00")
    session = dosing_stopped(dosing_started(session, staff), staff)  # 35 mg given, as prepared
    [adm] = services.record_administration(actor_for("nurse"), session)
    assert adm.quantity == Decimal("0.70") and adm.mg == Decimal("35.00")
    with pytest.raises(CustodyError, match="0.30"):
        services.request_waste(actor_for("nurse"), session=session, quantity="0.31", method="sink")
    event = services.request_waste(actor_for("nurse"), session=session, quantity="0.30", method="drug-disposal bin")
    assert event.witnesses_required == 1 and not LedgerEntry.objects.filter(kind="waste").exists()
    with pytest.raises(CustodyError, match="second person"):
        services.attest(actor_for("nurse"), event, "0.30")
    with pytest.raises(CustodyError, match="does not match"):
        services.attest(actor_for("prescriber"), event, "0.20")
    with pytest.raises(CustodyError, match="may not"):
        services.attest(actor_for("billing"), event, "0.30")
    services.attest(actor_for("prescriber"), event, "0.30")
    waste = LedgerEntry.objects.get(kind="waste")
    assert waste.witness == staff["prescriber"] and waste.actor == staff["nurse"]
    assert [d.residue for d in services.session_draws(session)] == [Decimal("0.00")]
    assert services.reconciliation().balances


def test_witness_cannot_be_the_administering_clinician(make_patient, make_session, receive, vial_product, actor_for,
                                                       staff, make_user):
    from ketaclinic.audit.services import Actor

    [vial] = receive(vial_product)
    session = make_session(make_patient(), administered_mg="35")
    services.draw(actor_for("prescriber"), container=vial, session=session, quantity="1")
    services.record_administration(actor_for("prescriber"), session)
    event = services.request_waste(actor_for("prescriber"), session=session, quantity="0.3", method="bin")
    with pytest.raises(CustodyError, match="administered"):
        services.attest(actor_for("nurse"), event, "0.3")  # staff["nurse"] administered the dose
    nurse2 = make_user("nurse", username="nurse2")
    services.attest(Actor.for_user(nurse2), event, "0.3")
    assert PendingEvent.objects.get(pk=event.pk).status == "posted"


def test_destruction_needs_two_witnesses_and_keeps_form41_data(receive, vial_product, actor_for, staff):
    [vial] = receive(vial_product)
    event = services.request_destruction(actor_for("nurse"), container=vial, quantity="10", method="denaturing kit",
                                         place="clinic safe room")
    services.attest(actor_for("prescriber"), event, "10")
    assert not LedgerEntry.objects.filter(kind="destroy").exists()
    services.attest(actor_for("compliance"), event, "10")
    entry = LedgerEntry.objects.get(kind="destroy")
    assert entry.witness == staff["prescriber"] and entry.witness2 == staff["compliance"]
    form41 = entry.details
    for key in ("registrant", "ndc", "batch", "name", "strength", "form", "package_quantity", "full_packages",
                "partial_count", "total_destroyed_mg", "date", "method", "location", "witnesses"):
        assert key in form41
    assert form41["full_packages"] == 1 and form41["total_destroyed_mg"] == "500.00"
    vial.refresh_from_db()
    assert vial.balance == 0


@pytest.mark.parametrize("found_on, notice_due_on, form106_due_on", [
    # Monday 5 July 2027 is Independence Day observed (the 4th is a Sunday): the notice is due on the Tuesday.
    (date(2027, 7, 2), date(2027, 7, 6), date(2027, 8, 16)),
    # An ordinary Friday: the notice is due on the Monday.
    (date(2026, 10, 16), date(2026, 10, 19), date(2026, 11, 30)),
])
def test_loss_report_flags_the_one_business_day_notice(found_on, notice_due_on, form106_due_on, receive,
                                                       vial_product, actor_for, clinic, clock):
    clock.move_to(datetime.combine(found_on, time(9, 0), tzinfo=clinic.tz))
    [vial] = receive(vial_product)
    friday_evening = clock.move_to(datetime.combine(found_on, time(18, 0), tzinfo=clinic.tz))
    report = services.report_loss(actor_for("nurse"), container=vial, quantity="2", kind="theft",
                                  discovered_at=friday_evening,
                                  circumstances="Vial found with broken seal and missing volume")
    # The written notice is due by the end of the next federal business day, clinic time.
    due = report.notice_due_at.astimezone(clinic.tz)
    assert (due.date(), due.hour, due.minute) == (notice_due_on, 23, 59)
    assert report.form106_due_on == form106_due_on  # 45 days after discovery
    vial.refresh_from_db()
    assert vial.balance == Decimal("8.00")


def test_return_goes_only_to_a_reverse_distributor(receive, vial_product, actor_for, supplier, reverse_distributor):
    [vial] = receive(vial_product)
    with pytest.raises(CustodyError, match="reverse distributor"):
        services.return_stock(actor_for("prescriber"), container=vial, quantity="10", distributor=supplier,
                              reason="expired")
    with pytest.raises(CustodyError, match="may not"):
        services.return_stock(actor_for("nurse"), container=vial, quantity="10", distributor=reverse_distributor,
                              reason="expired")
    services.return_stock(actor_for("prescriber"), container=vial, quantity="10", distributor=reverse_distributor,
                          reason="recalled lot")
    assert services.reconciliation().rows[0].returned == Decimal("10.00")


def test_count_discrepancy_opens_incident_only_compliance_resolves(receive, vial_product, actor_for, location):
    vials = receive(vial_product, packages=2)
    lines = [CountInput(vials[0], Decimal("10.00")), CountInput(vials[1], Decimal("9.50"))]
    with pytest.raises(CustodyError, match="every container"):
        services.submit_count(actor_for("nurse"), location=location, kind="routine", lines=lines[:1])
    count = services.submit_count(actor_for("nurse"), location=location, kind="routine", lines=lines)
    assert count.discrepancies == 1
    incident = Incident.objects.get()
    with pytest.raises(CustodyError, match="may not"):
        services.resolve_incident(actor_for("prescriber"), incident, resolution="adjust", reason="Spilled on the floor")
    with pytest.raises(CustodyError, match="Explain"):
        services.resolve_incident(actor_for("compliance"), incident, resolution="adjust", reason="")
    services.resolve_incident(actor_for("compliance"), incident, resolution="adjust",
                              reason="Measured again: 0.5 mL evaporated/leaked at the septum")
    vials[1].refresh_from_db()
    assert vials[1].balance == Decimal("9.50")
    rec = services.reconciliation()
    assert rec.balances and rec.rows[0].adjusted == Decimal("-0.50")


def test_unopened_container_must_be_counted_exactly_in_an_inventory(receive, vial_product, actor_for, location):
    [vial] = receive(vial_product)
    with pytest.raises(CustodyError, match="exactly"):
        services.submit_count(actor_for("prescriber"), location=location, kind="biennial", timing="close",
                              lines=[CountInput(vial, Decimal("10"), "estimated")])
    with pytest.raises(CustodyError, match="opening or close"):
        services.submit_count(actor_for("prescriber"), location=location, kind="biennial",
                              lines=[CountInput(vial, Decimal("10"))])
    count = services.submit_count(actor_for("prescriber"), location=location, kind="biennial", timing="close",
                                  lines=[CountInput(vial, Decimal("10"))])
    assert count.discrepancies == 0


def test_reversal_corrects_without_editing_and_chain_verifies(make_patient, make_session, receive, vial_product,
                                                              actor_for):
    [vial] = receive(vial_product)
    session = make_session(make_patient())
    draw = services.draw(actor_for("nurse"), container=vial, session=session, quantity="2")
    with pytest.raises(CustodyError, match="may not"):
        services.reverse_entry(actor_for("nurse"), draw, "typed 2 instead of 0.7 mL")
    rev = services.reverse_entry(actor_for("compliance"), draw, "typed 2 instead of 0.7 mL")
    assert rev.quantity == Decimal("-2.00") and rev.bucket == "drawn"
    vial.refresh_from_db()
    assert vial.balance == Decimal("10.00")
    with pytest.raises(CustodyError, match="already"):
        services.reverse_entry(actor_for("compliance"), draw, "typed 2 instead of 0.7 mL")
    assert services.verify_ledger() is None
    assert services.reconciliation().balances


def test_ledger_rows_refuse_update_and_delete_in_the_database(receive, vial_product):
    from django.db import DatabaseError, transaction

    receive(vial_product)
    for sql in ("UPDATE custody_ledgerentry SET quantity = 99", "DELETE FROM custody_ledgerentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql)
    assert LedgerEntry.objects.get().quantity == Decimal("10.00")


def test_verify_names_the_first_altered_entry(receive, vial_product, capsys):
    from django.core.management import CommandError, call_command

    receive(vial_product, packages=3)
    call_command("verify_ledger")
    assert "intact: 3 entries" in capsys.readouterr().out
    with connection.cursor() as cur:
        for sql in _drop_triggers():
            cur.execute(sql)
        cur.execute("UPDATE custody_ledgerentry SET quantity = 9 WHERE seq = 2")
    with pytest.raises(CommandError, match="entry 2"):
        call_command("verify_ledger")


def _drop_triggers():
    from ketaclinic.audit.append_only import remove_sql

    return remove_sql(connection.vendor, "custody_ledgerentry")


def test_reconciliation_flags_a_tampered_cached_balance(receive, vial_product):
    [vial] = receive(vial_product)
    Container.objects.filter(pk=vial.pk).update(balance=Decimal("9.00"))
    rec = services.reconciliation()
    assert not rec.balances
    assert rec.rows[0].difference == Decimal("1.00")
    assert rec.container_mismatches[0]["container"] == vial.label


def test_esketamine_devices_counted_whole(make_patient, make_session, receive, device_product, actor_for, other_location,
                                          other_room):
    devices = receive(device_product, packages=1, where=other_location)
    assert len(devices) == 2 and devices[0].balance == Decimal("1.00")
    session = make_session(make_patient(), dose_mg="56", drug="esketamine", at_room=other_room)
    with pytest.raises(CustodyError, match="whole"):
        services.draw(actor_for("nurse"), container=devices[0], session=session, quantity="0.5")
    for dev in devices:
        e = services.draw(actor_for("nurse"), container=dev, session=session, quantity="1")
        assert e.mg == Decimal("28.00")
