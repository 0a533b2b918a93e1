"""A session's drug account, told to the treatments app (which must not import custody).

A dose is prepared from counted stock: the vials or devices on offer are those the session could be drawn from
now (:func:`ketaclinic.custody.services.dispensing.container_problems`: volume left, lot not expired, opened vial
within its beyond-use time, the right drug, kept in a store that supplies the session's room); the cockpit's
strengths and lots come from them. A clinic that keeps no records of that drug in KetaClinic has
``stock_known`` False: the cockpit then offers the label strengths and a typed lot.
"""

from __future__ import annotations

from django.db.models import Sum

from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Container, PendingEvent, Product
from ketaclinic.custody.services.common import ZERO, _dec
from ketaclinic.custody.services.dispensing import administered_quantity, container_problems, session_draws
from ketaclinic.treatments.stock import DrawLine, DrugAccount, StockOption


def session_account(session) -> DrugAccount:
    """The session's drug account from the ledger (:class:`ketaclinic.treatments.stock.DrugAccount`): its live
    draws with what was administered and wasted from each, waste awaiting a witness, what may be drawn now and
    why the account does not balance (:func:`ketaclinic.clinical.custody.session_account_problems`).
    Five queries, whatever the stock and the session's draws."""
    clinic = session.patient.clinic
    draws = session_draws(session)
    pending = _dec(PendingEvent.objects.filter(session=session, kind=PendingEvent.Kind.WASTE,
                                               status=PendingEvent.Status.PENDING)
                   .aggregate(t=Sum("quantity"))["t"])
    containers = list(Container.objects
                      .filter(location__clinic=clinic, lot__product__drug=session.drug, lot__product__active=True,
                              balance__gt=0)
                      .select_related("lot__product", "location").prefetch_related("location__rooms")
                      .order_by("lot__expiry", "label"))
    options = tuple(StockOption(
        key=str(c.external_id), lot_number=c.lot.lot_number, unit=c.lot.product.unit, balance=c.balance,
        strength_mg_per_mL=c.lot.product.strength_mg_per_mL,
        label=(f"{c.label} · {c.lot.product.name} · lot {c.lot.lot_number} (exp {c.lot.expiry:%Y-%m-%d}) · "
               f"{c.balance} {c.lot.product.unit} left"))
        for c in containers if not container_problems(c, session, clinic))
    product = draws[0].entry.container.lot.product if draws else (containers[0].lot.product if containers else None)
    unit = product.unit if product else ("device" if session.drug == "esketamine" else "mL")
    drawn = sum((d.drawn for d in draws), ZERO)
    administered = sum((d.administered for d in draws), ZERO)
    wasted = sum((d.wasted for d in draws), ZERO)
    recorded = None
    if session.administered_mg is not None and product is not None:
        recorded = administered_quantity(session, product)
    elif session.administered_mg is not None:
        recorded = ZERO
    problems = rules.session_account_problems(
        unit=unit, drawn=drawn, administered_recorded=recorded, administered_posted=administered, wasted=wasted,
        pending_waste=pending, prepared_lot=session.lot_number,
        drawn_lots=frozenset(d.entry.container.lot.lot_number for d in draws))
    return DrugAccount(
        unit=unit, drawn=drawn, drawn_mg=sum((d.entry.mg for d in draws), ZERO), administered=administered,
        wasted=wasted, pending_waste=pending, problems=tuple(problems), options=options,
        stock_known=bool(containers) or bool(draws) or Product.objects.filter(drug=session.drug).exists(),
        draws=tuple(DrawLine(at=d.entry.at, container=d.entry.container.label, lot_number=d.entry.container.lot.lot_number,
                             quantity=d.drawn, mg=d.entry.mg, by=d.entry.actor_label, administered=d.administered,
                             wasted=d.wasted) for d in draws))
