"""Read-side queries for the custody pages (fixed number of queries whatever the ledger's length)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count as CountAgg
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from ketaclinic.clinic.models import current_clinic_id
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import (
    Container,
    Count,
    Incident,
    LedgerEntry,
    LossReport,
    PendingEvent,
    Product,
    Receipt,
)
from ketaclinic.custody.models import StorageLocation as Location
from ketaclinic.treatments.models import TreatmentSession


def stock(clinic, now=None) -> list[dict]:
    """Every container with stock, with its derived remaining quantity and beyond-use time."""
    now = now or timezone.now()
    hours = int(clinic.limits()["custody.opened_vial_beyond_use_hours"])
    today = now.astimezone(clinic.tz).date()
    rows = []
    for c in (Container.objects.filter(balance__gt=0, location__clinic=clinic)
              .select_related("lot__product", "location").order_by("location__name", "lot__expiry", "label")):
        product = c.lot.product
        bud = rules.beyond_use_at(c.opened_at, hours) if product.form == product.Form.VIAL else None
        rows.append({"c": c, "product": product, "bud": bud, "past_bud": bud is not None and now > bud,
                     "expired": rules.is_expired(c.lot.expiry, today)})
    return rows


def counts_due(clinic, now=None) -> list[dict]:
    now = now or timezone.now()
    limits = clinic.limits()
    frequency = str(limits["custody.routine_count_frequency"])
    locations = list(Location.objects.filter(clinic=clinic, active=True).annotate(
        last_count=Max("counts__signed_at"),
        last_inventory=Max("counts__taken_on", filter=Q(counts__kind__in=[Count.Kind.INITIAL, Count.Kind.BIENNIAL]))))
    draws = dict(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DRAW, container__location__in=locations)
                 .values("container__location").annotate(last=Max("at")).values_list("container__location", "last"))
    out = []
    for loc in locations:
        last_draw = draws.get(loc.pk)
        draws_since = 1 if last_draw and (loc.last_count is None or last_draw > loc.last_count) else 0
        inventory_due = rules.inventory_due_on(loc.last_inventory, int(limits["custody.inventory_interval_months"]))
        out.append({
            "location": loc, "last_count": loc.last_count, "frequency": frequency,
            "routine_due": rules.routine_count_due(frequency, loc.last_count, now, clinic.tz, draws_since),
            "last_inventory": loc.last_inventory, "inventory_due_on": inventory_due,
            "inventory_overdue": loc.last_inventory is None or (inventory_due and inventory_due <= now.date()),
        })
    return out


def sessions_for_custody(clinic, now=None) -> list[TreatmentSession]:
    """Sessions with a verified dose from the last day, plus any older session still holding drawn residue."""
    now = now or timezone.now()
    recent = Q(verified_at__isnull=False, verified_at__gte=now - timedelta(hours=24))
    return list(TreatmentSession.objects.filter(recent, patient__clinic=clinic).exclude(status__in=["cancelled", "no_show"])
                .select_related("patient", "room").order_by("scheduled_start")[:50])


def dashboard(clinic, user) -> dict:
    now = timezone.now()
    return {
        "stock": stock(clinic, now),
        "incidents": list(Incident.objects.filter(status=Incident.Status.OPEN, count_line__count__location__clinic=clinic)
                          .select_related("count_line__container", "count_line__count")[:50]),
        "counts_due": counts_due(clinic, now),
        "losses_open": list(LossReport.objects.filter(Q(notice_sent_at__isnull=True) | Q(form106_filed_on__isnull=True),
                                                      clinic=clinic)
                            .order_by("notice_due_at")[:20]),
        "to_sign": pending_for(user, count_only=True),
        "sessions": sessions_for_custody(clinic, now),
        "now": now,
    }


def here_events() -> Q:
    """The pending events of the clinic acting now: a destruction of its stock, a waste of its patient's dose."""
    here = current_clinic_id()
    return Q(container__location__clinic_id=here) | Q(container__isnull=True, session__patient__clinic_id=here)


def _with_units(events) -> list[PendingEvent]:
    """The events, each with the ``unit`` its quantity is in: its container's product's, else (a session's waste)
    the product drawn for the session's (``drawn_form``)."""
    events = list(events)
    for e in events:
        e.unit = (e.container.lot.product.unit if e.container_id
                  else Product(form=e.drawn_form).unit if e.drawn_form else "")
    return events


def pending_for(user, count_only: bool = False):
    """Receipts awaiting a countersignature and wastes/destructions awaiting a witness, that ``user`` may sign, at
    the clinic acting now."""
    here = current_clinic_id()
    receipts = Receipt.objects.filter(status=Receipt.Status.PENDING, location__clinic_id=here).exclude(entered_by=user)
    events = (PendingEvent.objects.filter(here_events(), status=PendingEvent.Status.PENDING).exclude(requested_by=user)
              .exclude(attestations__witness=user))
    if count_only:
        return receipts.count() + events.count()
    return {
        "receipts": list(receipts.select_related("product", "supplier", "entered_by", "location")),
        "events": list(events.select_related("container__lot__product", "session__patient", "requested_by")
                       .annotate(signed=CountAgg("attestations"))),
        "mine": _with_units(PendingEvent.objects.filter(here_events(), status=PendingEvent.Status.PENDING,
                                                        requested_by=user)
                            .select_related("container__lot__product", "session__patient")
                            # a session's waste is counted in the unit of what was drawn for it (its first draw's)
                            .annotate(drawn_form=Subquery(LedgerEntry.objects.filter(
                                session=OuterRef("session"), kind=LedgerEntry.Kind.DRAW).order_by("seq")
                                .values("lot__product__form")[:1]))),
        "my_receipts": list(Receipt.objects.filter(status=Receipt.Status.PENDING, entered_by=user,
                                                   location__clinic_id=here)
                            .select_related("product")),
    }
