"""A believable custody ledger for the synthetic demo clinic, built only through the custody services so it
reconciles exactly like real use: receipts (countersigned), an initial inventory, draws for the demo's treatment
sessions with verified doses, administrations, witnessed wastes, Form 41 destruction of opened vials past their
beyond-use time, a return, and today's routine count.

The demo loads all or nothing: ``seed_demo`` runs every app's ``seed`` in one transaction, so the custody use
cases are composed here with ``<use case>.within(...)`` (inside the caller's transaction) rather than called as
their own durable transactions.

Ketamine NDCs are SYNTHETIC (labeler 00000; clinical.md §5b lists real labeler/product codes but not which
package is which strength). The esketamine kit NDCs 50458-028-02 (56 mg, 2 devices) and -03 (84 mg, 3 devices)
and 28 mg per device are from clinical.md §3b (status C).
"""

from __future__ import annotations

import heapq
from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from django.db import transaction
from django.db.models import F

from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Room
from ketaclinic.clinical import custody as rules
from ketaclinic.clinical.identifiers import dea_check_digit
from ketaclinic.custody import services
from ketaclinic.custody.models import Container, Count, Product, Supplier
from ketaclinic.custody.services import CountInput, CustodyError
from ketaclinic.treatments import services as treatment_services
from ketaclinic.treatments.demo import DEMO_LOTS
from ketaclinic.treatments.models import TreatmentSession


def _dea(prefix: str, six: str) -> str:
    return f"{prefix}{six}{dea_check_digit(six)}"  # synthetic, well-formed (clinical.md §6 check digit)


def _actor(user) -> Actor:
    return Actor.for_user(user, client_ip="127.0.0.1")


def seed(ctx) -> None:
    clinic, users, now = ctx.clinic, ctx.users, ctx.now
    tz = clinic.tz
    admin, nurse, nurse2 = _actor(users["admin"]), _actor(users["nurse"]), _actor(users["nurse2"])
    prescriber, compliance = _actor(users["prescriber"]), _actor(users["compliance"])
    rooms = {r.name: r for r in Room.objects.filter(clinic=clinic)}
    infusion = [r for r in rooms.values() if r.kind == Room.Kind.INFUSION]
    intranasal = [r for r in rooms.values() if r.kind == Room.Kind.INTRANASAL]
    safe = services.add_location.within(admin, clinic=clinic, name="Main safe (infusion)", rooms=infusion)
    cabinet = services.add_location.within(admin, clinic=clinic, name="Spravato cabinet", rooms=intranasal)
    supplier = services.add_supplier.within(
        admin, name="Front Range Pharma Distribution (synthetic)", address="4000 Example Blvd, Denver, CO 80216",
        dea_number=_dea("P9", "246813"))
    reverse = services.add_supplier.within(
        admin, name="Rocky Returns Reverse Distribution (synthetic)", address="12 Sample Ct, Aurora, CO 80011",
        dea_number=_dea("R9", "135792"), kind=Supplier.Kind.REVERSE_DISTRIBUTOR)
    k50 = services.add_product.within(
        admin, ndc="00000-1050-10", name="Ketamine HCl 50 mg/mL, 10 mL vial (synthetic NDC)", drug="ketamine",
        form="vial", strength_mg_per_mL="50", container_volume_mL="10")
    k100 = services.add_product.within(
        admin, ndc="00000-1100-05", name="Ketamine HCl 100 mg/mL, 5 mL vial (synthetic NDC)", drug="ketamine",
        form="vial", strength_mg_per_mL="100", container_volume_mL="5")
    s56 = services.add_product.within(admin, ndc="50458-028-02", name="Spravato 56 mg kit (2 x 28 mg devices)",
                                      drug="esketamine", form="device", device_mg="28", units_per_package=2)
    s84 = services.add_product.within(admin, ndc="50458-028-03", name="Spravato 84 mg kit (3 x 28 mg devices)",
                                      drug="esketamine", form="device", device_mg="28", units_per_package=3)

    sessions = list(TreatmentSession.objects.filter(verified_at__isnull=False, prepared_dose_mg__isnull=False)
                    .exclude(status__in=["cancelled", "no_show"]).select_related("room", "patient")
                    .order_by("verified_at"))
    start = min([s.verified_at for s in sessions] + [now - timedelta(days=21)]) - timedelta(days=2)
    start_day = start.astimezone(tz).date()
    # Enough stock for every session plus a margin.
    ket_mg = sum((s.prepared_dose_mg for s in sessions if s.drug == "ketamine"), Decimal(0))
    esk = [s for s in sessions if s.drug == "esketamine"]
    n50 = max(10, int(ket_mg / 500) + len({s.verified_at.astimezone(tz).date() for s in sessions}) + 4)
    receipts = [
        (k50, n50, DEMO_LOTS["ketamine"], 540, safe), (k100, 5, "KH24B031", 480, safe),
        (s56, max(4, len(esk) // 2 + 2), DEMO_LOTS["esketamine"], 420, cabinet), (s84, max(2, len(esk) // 3 + 1), "SPV2411B", 420, cabinet),
    ]
    # Any other lot a session's dose was prepared from is received too (a first draw comes from that lot).
    named = {(p.drug, lot) for p, _, lot, _, _ in receipts}
    for drug, lot in sorted({(s.drug, s.lot_number) for s in sessions
                             if s.lot_number and (s.drug, s.lot_number) not in named}):
        drug_sessions = [s for s in sessions if s.lot_number == lot and s.drug == drug]
        if drug == "esketamine":
            receipts.append((s56, len(drug_sessions) * 2, lot, 420, cabinet))
        else:
            mg = sum((s.prepared_dose_mg for s in drug_sessions), Decimal(0))
            receipts.append((k50, int(mg / 500) + len(drug_sessions) + 1, lot, 540, safe))
    for i, (product, packages, lot, shelf_days, where) in enumerate(receipts):
        r = services.enter_receipt.within(
            nurse, supplier=supplier, invoice_number=f"FRP-{20461 + i}", invoice_date=start_day,
            received_on=start_day, product=product, lot_number=lot, expiry=start_day + timedelta(days=shelf_days),
            packages=packages, location=where)
        services.countersign_receipt.within(nurse2, r, at=start + timedelta(minutes=10 + i))
    # Initial inventory, close of business on the day stock arrived (21 CFR 1304.11(b)).
    close = datetime.combine(start_day, time(17, 30), tz)
    for loc in (safe, cabinet):
        services.submit_count.within(
            prescriber, location=loc, kind=Count.Kind.INITIAL, taken_on=start_day, timing=Count.Timing.CLOSE,
            at=close, lines=[CountInput(c, c.balance) for c in Container.objects.filter(location=loc)])

    hours = int(clinic.limits()["custody.opened_vial_beyond_use_hours"])
    # The sessions' entries are posted in the order they happened across sessions (a draw when the dose was
    # verified, the administration when dosing ended, the witnessed waste 2 minutes later; an opened vial destroyed
    # at its beyond-use time), so the ledger's entry numbers follow the clock as they do in real use.
    # Today's demo sessions are verified when the demo is seeded, after their back-dated dosing began: their dose is
    # drawn when dosing began, never after it.
    queue = [(min(s.verified_at, s.dose_started_at or s.verified_at), n, _draw_session, s)
             for n, s in enumerate(sessions)]
    heapq.heapify(queue)
    tiebreak = len(queue)
    while queue:
        at, _, step, s = heapq.heappop(queue)
        _discard_past_bud(at, hours, nurse, prescriber, compliance)
        try:
            with transaction.atomic():
                follow = step(s, at, clinic, nurse, nurse2, prescriber)
        except CustodyError:
            continue  # e.g. a session in a room no store supplies: left without (further) custody entries
        if follow:
            tiebreak += 1
            heapq.heappush(queue, (follow[0], tiebreak, follow[1], s))
    _discard_past_bud(now, hours, nurse, prescriber, compliance)
    # One sealed 100 mg/mL vial goes back to the reverse distributor (the clinic stopped stocking the strength).
    sealed = Container.objects.filter(lot__product=k100, opened_at__isnull=True, balance__gt=0).first()
    if sealed:
        services.return_stock.within(prescriber, container=sealed, quantity=sealed.balance, distributor=reverse,
                                     reason="Strength discontinued at the clinic; returned for credit")
    # Today's routine counts: the safe has one discrepancy left open for the compliance lead.
    for loc in (safe, cabinet):
        lines = [CountInput(c, c.balance, "exact") for c in Container.objects.filter(location=loc, balance__gt=0)
                 .order_by("label")]
        opened = [i for i, line in enumerate(lines) if line.container.opened_at is not None and line.counted > 1]
        if loc == safe and opened:  # a 0.1 mL shortfall on an opened vial, for the compliance lead to resolve
            i = opened[0]
            lines[i] = CountInput(lines[i].container, lines[i].counted - Decimal("0.10"))
        services.submit_count.within(nurse, location=loc, kind=Count.Kind.ROUTINE, lines=lines,
                                     at=now - timedelta(hours=1))
    # Today's notes the nurse signs now that their drug accounts balance (signing refuses an open account).
    for pk, summary in ctx.extra.get("sign_after_custody", []):
        session = TreatmentSession.objects.get(pk=pk)
        treatment_services.sign_note.within(actor=nurse, session=session, as_role="nurse", summary=summary)
    ctx.extra["custody"] = {"balances": services.reconciliation().balances}


def _draw_session(s, at, clinic, nurse, nurse2, prescriber):
    """The dose drawn when it was verified; the administration follows when dosing ended."""
    if s.drug == "esketamine":
        devices = int((s.prepared_dose_mg / 28).to_integral_value(ROUND_CEILING))
        for _ in range(devices):
            c = _pick(s, at, clinic)
            services.draw.within(nurse, container=c, session=s, quantity="1", clinic=clinic, now=at)
    else:
        c = _pick(s, at, clinic)
        product = c.lot.product
        need = (s.prepared_dose_mg / product.strength_mg_per_mL).quantize(Decimal("0.1"), ROUND_CEILING)
        amount = min(c.balance, need + Decimal("0.10"))
        services.draw.within(nurse, container=c, session=s, quantity=amount, clinic=clinic, now=at)
        if amount < need:  # finish the dose from a second vial
            c2 = _pick(s, at, clinic)
            services.draw.within(nurse, container=c2, session=s, quantity=need - amount + Decimal("0.10"),
                                 clinic=clinic, now=at)
    if s.administered_mg is None:
        return None
    return (s.dose_ended_at or at + timedelta(minutes=45), _administer_session)


def _administer_session(s, at, clinic, nurse, nurse2, prescriber):
    """The dose given, recorded when dosing ended; any residue is wasted, witnessed, 2 minutes later."""
    services.record_administration.within(nurse, s, at=at)
    return (at + timedelta(minutes=2), _waste_residue)


def _waste_residue(s, at, clinic, nurse, nurse2, prescriber):
    residue = sum((d.residue for d in services.session_draws(s)), Decimal("0.00"))
    if residue > 0:
        event = services.request_waste.within(
            nurse, session=s, quantity=residue, method="Expelled into drug-disposal container (Rx Destroyer)",
            clinic=clinic, at=at)
        witness = nurse2 if s.administered_by_id != nurse2.user.pk else prescriber
        for _ in range(event.witnesses_required):
            services.attest.within(witness, event, residue, at=at)
            witness = prescriber if witness is nurse2 else nurse2
    return None


def _pick(s, at, clinic):
    """An opened vial still within its beyond-use time first, else the earliest-expiring sealed one."""
    candidates = (Container.objects.filter(balance__gt=0, lot__product__drug=s.drug)
                  .select_related("lot__product", "location").order_by(F("opened_at").desc(nulls_last=True), "lot__product__strength_mg_per_mL",
                            "lot__expiry", "label"))
    # The first draw comes from the lot the dose was prepared from.
    candidates = sorted(candidates, key=lambda c: c.lot.lot_number != s.lot_number)
    for c in candidates:
        if not services.container_problems(c, s, clinic, at) and not services.preparation_mismatch(s, c):
            return c
    raise CustodyError({"quantity": "no usable container"})


def _discard_past_bud(at, hours, nurse, prescriber, compliance):
    """Opened vials past their beyond-use time by ``at``: remainder destroyed with two witnesses (DEA Form 41),
    attested at the beyond-use time, earliest first."""
    for c in Container.objects.filter(opened_at__isnull=False, balance__gt=0,
                                      lot__product__form=Product.Form.VIAL).select_related("lot__product") \
            .order_by("opened_at", "pk"):
        bud = rules.beyond_use_at(c.opened_at, hours)
        if bud is None or bud >= at:
            continue
        event = services.request_destruction.within(
            nurse, container=c, quantity=c.balance, method="Chemical denaturing kit (non-retrievable)",
            place="Medication room, Main safe")
        services.attest.within(prescriber, event, c.balance, at=bud)
        services.attest.within(compliance, event, c.balance, at=bud)
