"""A dose is prepared from a lot the clinic holds, drawn from it in the cockpit, and the session's note is signed
only once its controlled-substance account balances (drawn = given + wasted); reconciliation names any dose given
with nothing drawn for it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from ketaclinic.clinical.custody import session_account_problems
from ketaclinic.custody import services
from ketaclinic.custody.models import Container, LedgerEntry
from ketaclinic.custody.services import CustodyError
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments import stock
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    IV,
    actor,
    book_now,
    checked_in,
    discharged,
    dosing_started,
    dosing_stopped,
    make_order,
    prechecked,
    predose_vitals,
)

D = Decimal


# ------------------------------------------------------------------------------ the rule (clinical core)
def test_an_account_balances_only_when_drawn_equals_given_plus_wasted_and_both_are_posted():
    def problems(**kw):
        base = dict(unit="mL", drawn=D("1.00"), administered_recorded=D("0.70"), administered_posted=D("0.70"),
                    wasted=D("0.30"), pending_waste=D("0"))
        return session_account_problems(**{**base, **kw})

    assert problems() == []
    assert "Nothing was drawn" in problems(drawn=D("0"), administered_posted=D("0"), wasted=D("0"))[0]
    assert "not yet posted" in " ".join(problems(administered_posted=D("0"), wasted=D("0")))
    assert "0.30 mL drawn is neither given nor wasted" in " ".join(problems(wasted=D("0")))
    assert "awaits its witness" in " ".join(problems(wasted=D("0"), pending_waste=D("0.30")))
    assert "ledger shows 0.60 mL administered" in " ".join(problems(administered_posted=D("0.60"),
                                                                    wasted=D("0.40")))
    assert "prepared from lot A but drawn from lot B" in " ".join(problems(prepared_lot="A", drawn_lots=frozenset({"B"})))
    assert problems(prepared_lot="A", drawn_lots=frozenset({"A", "B"})) == []
    assert "Dosing has not ended" in " ".join(problems(administered_recorded=None, administered_posted=D("0"),
                                                       wasted=D("0")))
    assert "record the missing draw" in " ".join(problems(drawn=D("0.50"), wasted=D("0")))


# ------------------------------------------------------------------------------ preparing and drawing
@pytest.fixture
def visit(make_patient, staff, room, receive, vial_product):
    """Stock of lot LOT-A1 (50 mg/mL) in the safe serving the room; a 70 kg patient checked in with pre-checks and
    pre-dose vitals, ready for the nurse to prepare 35 mg."""
    receive(vial_product, packages=2)
    order = make_order(make_patient(), staff, IV, weight="70.0")
    s = prechecked(checked_in(book_now(order, staff, {}, chair=room.chairs.first()), staff), staff)
    predose_vitals(s, staff)
    return s


def _prepare(s, staff, lot, conc="50"):
    return treatments.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": conc, "bag_volume_mL": "100", "vial_or_device": "Ketamine 50 mg/mL vial",
        "lot_number": lot})


def _verify(s, staff):
    s.refresh_from_db()
    treatments.verify_dose(actor=actor(staff["prescriber"]), session=s, weight_kg=s.weight_kg,
                           dose_mg=s.prepared_dose_mg, concentration_mg_per_mL=s.concentration_mg_per_mL,
                           bag_volume_mL=s.bag_volume_mL)
    s.refresh_from_db()
    return s


def test_a_lot_the_clinic_does_not_hold_cannot_be_prepared(visit, staff):
    with pytest.raises(TreatmentError) as e:
        _prepare(visit, staff, "KT9999Z")
    assert "Lot KT9999Z at 50 mg/mL is not in stock" in e.value.errors["lot_number"]
    assert "Lots you can use: LOT-A1 (50 mg/mL)" in e.value.errors["lot_number"]
    visit.refresh_from_db()
    assert visit.prepared_dose_mg is None and visit.lot_number == ""


def test_an_expired_lot_is_not_offered_and_cannot_be_prepared(visit, staff, receive, vial_product):
    from datetime import timedelta

    from django.utils import timezone

    [old] = receive(vial_product, lot="OLD-1")
    type(old.lot).objects.filter(pk=old.lot_id).update(expiry=timezone.localdate() - timedelta(days=1))
    assert {o.lot_number for o in stock.account(visit).options} == {"LOT-A1"}
    with pytest.raises(TreatmentError, match="OLD-1 at 50 mg/mL is not in stock"):
        _prepare(visit, staff, "OLD-1")


def test_draws_match_the_prepared_strength_and_the_account_names_the_prepared_lot(visit, staff, receive, vial_product, admin_actor):
    [other_lot] = receive(vial_product, lot="LOT-B2")
    strong = services.add_product(admin_actor, ndc="00000-0100-05", name="Ketamine 100 mg/mL 5 mL (test)",
                                  drug="ketamine", form="vial", strength_mg_per_mL="100", container_volume_mL="5")
    [strong_vial] = receive(strong, lot="LOT-C3")
    _prepare(visit, staff, "LOT-A1")
    s = _verify(visit, staff)
    nurse = actor(staff["nurse"])
    with pytest.raises(CustodyError, match="calculated for 50 mg/mL"):
        services.draw(nurse, container=strong_vial, session=s, quantity="0.35")
    assert not LedgerEntry.objects.filter(kind="draw").exists()
    wrong = services.draw(nurse, container=other_lot, session=s, quantity="0.70")
    assert "prepared from lot LOT-A1 but drawn from lot LOT-B2" in " ".join(stock.account(s).problems)
    services.reverse_entry(actor(staff["compliance"]), wrong, "Drawn from the wrong lot; vial returned to the safe")
    prepared_lot = Container.objects.filter(lot__lot_number="LOT-A1").first()
    services.draw(nurse, container=prepared_lot, session=s, quantity="0.50")
    services.draw(nurse, container=other_lot, session=s, quantity="0.20")  # a second vial may be another lot
    assert stock.account(s).drawn_mg == D("35.00")
    assert not any("lot" in p for p in stock.account(s).problems)


# ------------------------------------------------------------------------------ signing waits for the account
def test_the_note_is_signed_only_once_the_drug_account_balances(visit, staff):
    _prepare(visit, staff, "LOT-A1")
    s = _verify(visit, staff)
    s = dosing_stopped(dosing_started(s, staff), staff, administered_mg="30")  # stopped early: 30 of 35 mg
    s = discharged(s, staff)
    nurse = actor(staff["nurse"])

    def sign():
        treatments.sign_note(actor=nurse, session=s, as_role="nurse", summary="Stopped at 30 mg.")

    with pytest.raises(TreatmentError, match="Nothing was drawn from stock"):
        sign()
    vial = Container.objects.filter(lot__lot_number="LOT-A1").first()
    services.draw(nurse, container=vial, session=s, quantity="0.70")
    with pytest.raises(TreatmentError, match="0.60 mL given is not yet posted"):
        sign()
    services.record_administration(nurse, s)
    with pytest.raises(TreatmentError, match="0.10 mL drawn is neither given nor wasted"):
        sign()
    event = services.request_waste(nurse, session=s, quantity="0.10", method="drug-disposal container")
    with pytest.raises(TreatmentError, match="awaits its witness"):
        sign()
    services.attest(actor(staff["prescriber"]), event, "0.10")
    sign()
    s.refresh_from_db()
    assert s.nurse_signed_at is not None and stock.account(s).balanced


def test_the_cockpit_draws_and_posts_through_the_ledger_and_comes_back(visit, staff, client_for):
    _prepare(visit, staff, "LOT-A1")
    s = _verify(visit, staff)
    client = client_for("nurse")
    page = client.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Drug account" in page and "The verified dose is not drawn from stock yet" in page
    vial = Container.objects.filter(lot__lot_number="LOT-A1").first()
    url = reverse("custody:session", args=[s.external_id])
    too_much = client.post(url, {"action": "draw", "back": "cockpit", "draw-container": str(vial.external_id),
                                 "draw-quantity": "11"}, follow=True)
    assert too_much.redirect_chain[-1][0].endswith(f"/treatments/sessions/{s.external_id}/#account")
    assert "more than the 10.00 mL that remain" in too_much.content.decode()
    assert not LedgerEntry.objects.filter(kind="draw").exists()
    done = client.post(url, {"action": "draw", "back": "cockpit", "draw-container": str(vial.external_id),
                             "draw-quantity": "0.70"}, follow=True)
    assert done.redirect_chain[-1][0].endswith("#account")
    assert "Drew 0.70 mL (35.00 mg)" in done.content.decode()
    dosing_stopped(dosing_started(s, staff), staff)  # 40 minutes on the clock: the nurse signs in again
    client = client_for("nurse")
    page = client.post(url, {"action": "administer", "back": "cockpit"}, follow=True).content.decode()
    assert "Administration recorded (0.70 mL)." in page
    assert "Balances: drawn 0.70 = given 0.70 + wasted 0.00 mL" in page


def test_reconciliation_names_a_dose_given_with_nothing_drawn(visit, staff, client_for):
    _prepare(visit, staff, "LOT-A1")
    s = dosing_stopped(dosing_started(_verify(visit, staff), staff), staff)
    rec = services.reconciliation()
    assert rec.undrawn_sessions == [s] and not rec.balances
    page = client_for("compliance").get(reverse("custody:reconciliation")).content.decode()
    assert "Doses given with nothing drawn from stock" in page and "does not balance" in page
    # the headline says why, though every lot's difference is 0.00
    assert "<b>Does not balance:</b> 1 dose given with nothing drawn from stock (see below)." in page
    vial = Container.objects.filter(lot__lot_number="LOT-A1").first()
    services.draw(actor(staff["nurse"]), container=vial, session=s, quantity="0.70")
    services.record_administration(actor(staff["nurse"]), s)
    rec = services.reconciliation()
    assert rec.undrawn_sessions == [] and rec.balances


@pytest.mark.parametrize("route", ["im", "intranasal"])
def test_im_and_esketamine_sessions_balance_from_the_cockpit_before_the_note_is_signed(route, make_patient, staff,
                                                                                         room, other_room,
                                                                                         client_for, clinic):
    """The same account for every route: mL of a vial for IM, whole devices for esketamine."""
    from tests.factories import ESK, IM, dosed_session, stocked

    stocked(staff, clinic=clinic, drug="esketamine" if route == "intranasal" else "ketamine", lot="RT-1",
            packages=3)
    s = dosed_session(make_patient(), staff, data=ESK if route == "intranasal" else IM,
                      room=other_room if route == "intranasal" else room, end="discharged")
    assert s.lot_number == "RT-1"
    account = stock.account(s)
    assert account.unit == ("device" if route == "intranasal" else "mL") and not account.balanced
    client = client_for("nurse")
    sign = reverse("treatments:sign_as_nurse", args=[s.external_id])
    refused = client.post(sign, {"note_summary": "Uneventful."}, follow=True).content.decode()
    assert "does not balance" in refused
    url = reverse("custody:session", args=[s.external_id])
    quantity = str(s.devices) if route == "intranasal" else str(s.prepared_volume_mL)
    if route == "intranasal":  # whole devices, one container each
        for option in account.options[:s.devices]:
            client.post(url, {"action": "draw", "back": "cockpit", "draw-container": option.key, "draw-quantity": "1"})
    else:
        client.post(url, {"action": "draw", "back": "cockpit", "draw-container": account.options[0].key,
                          "draw-quantity": quantity})
    assert stock.account(s).drawn_mg == s.prepared_dose_mg
    page = client.post(url, {"action": "administer", "back": "cockpit"}, follow=True).content.decode()
    assert "Balances: drawn" in page
    assert "Note signed." in client.post(sign, {"note_summary": "Uneventful."}, follow=True).content.decode()
    s.refresh_from_db()
    assert s.nurse_signed_at is not None


def test_a_transfer_records_what_ran_not_the_prepared_dose(visit, staff):
    from tests.factories import let_time_pass

    _prepare(visit, staff, "LOT-A1")
    s = dosing_started(_verify(visit, staff), staff)
    let_time_pass(10)
    s = treatments.transfer_to_emergency(actor=actor(staff["prescriber"]), session=s, note="Ambulance to the ED",
                                         adverse_event={"kind": "hypertension", "severity": "severe"})
    assert s.administered_mg == D("8.75")  # 10 of the 40 minutes ran


def test_nothing_is_added_to_a_signed_sessions_account(visit, staff):
    _prepare(visit, staff, "LOT-A1")
    s = discharged(dosing_stopped(dosing_started(_verify(visit, staff), staff), staff), staff)
    vial = Container.objects.filter(lot__lot_number="LOT-A1").first()
    nurse = actor(staff["nurse"])
    services.draw(nurse, container=vial, session=s, quantity="0.70")
    services.record_administration(nurse, s)
    treatments.sign_note(actor=nurse, session=s, as_role="nurse", summary="Uneventful.")
    before = LedgerEntry.objects.count()
    with pytest.raises(CustodyError, match="note is signed: its drug account is closed"):
        services.draw(nurse, container=vial, session=s, quantity="0.10")
    with pytest.raises(CustodyError, match="drug account is closed"):
        services.request_waste(nurse, session=s, quantity="0.10", method="sink")
    assert LedgerEntry.objects.count() == before and stock.account(s).balanced
