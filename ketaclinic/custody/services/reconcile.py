"""Reconciliation: per product and lot, everything received is accounted for, to 0.01."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models import Count as CountAgg

from ketaclinic.custody.models import CONTAINER_EFFECT, Bucket, Container, LedgerEntry, Lot
from ketaclinic.custody.services.common import ZERO, _dec
from ketaclinic.treatments.models import TreatmentSession


@dataclass
class ReconRow:
    lot: Lot
    received: Decimal = ZERO
    drawn: Decimal = ZERO
    administered: Decimal = ZERO
    wasted: Decimal = ZERO
    destroyed: Decimal = ZERO
    lost: Decimal = ZERO
    returned: Decimal = ZERO
    adjusted: Decimal = ZERO
    on_hand: Decimal = ZERO  # sum of the containers' cached balances (an independent record)
    containers: int = 0

    @property
    def unit(self) -> str:
        return self.lot.product.unit

    @property
    def in_process(self) -> Decimal:
        """Drawn for a session but not yet administered or wasted (in a syringe, in custody)."""
        return self.drawn - self.administered - self.wasted

    @property
    def accounted(self) -> Decimal:
        return (self.administered + self.wasted + self.destroyed + self.lost + self.returned + self.on_hand
                + self.in_process)

    @property
    def difference(self) -> Decimal:
        """received + count adjustments - everything accounted for; 0.00 when the lot balances."""
        return self.received + self.adjusted - self.accounted

    @property
    def balances(self) -> bool:
        return self.difference == 0 and self.in_process >= 0


@dataclass
class Reconciliation:
    rows: list[ReconRow]
    container_mismatches: list[dict]
    open_sessions: list[dict]
    undrawn_sessions: list[TreatmentSession] = field(default_factory=list)

    @property
    def balances(self) -> bool:
        """Every lot balances, every container's balance agrees with its ledger, and no session records a dose
        given with nothing drawn for it from stock."""
        return not self.why_not

    @property
    def why_not(self) -> list[str]:
        """Why it does not balance, in words for the page's headline (empty when it balances): the table's
        difference column shows only the first reason."""
        why = []
        if failing := sum(1 for r in self.rows if not r.balances):
            why.append(f"{failing} lot{'s' if failing != 1 else ''} with a difference")
        if n := len(self.container_mismatches):
            why.append(f"{n} container{'s' if n != 1 else ''} whose balance disagrees with the ledger")
        if n := len(self.undrawn_sessions):
            why.append(f"{n} dose{'s' if n != 1 else ''} given with nothing drawn from stock")
        return why


def reconciliation(clinic_id: int | None = None) -> Reconciliation:
    """Per product and lot: received = administered + wasted + destroyed + lost + returned + on hand (+ drawn
    and awaiting administration/waste), to 0.01. Four aggregate queries, whatever the ledger's length.

    Of the stock of clinic ``clinic_id`` (a clinic of a network reconciles what its own DEA registration holds);
    None: of the whole install."""
    def at(path: str) -> dict:  # the filter that keeps one clinic's rows (none for the whole install)
        return {} if clinic_id is None else {path: clinic_id}

    entries = LedgerEntry.objects.filter(**at("container__location__clinic_id"))
    containers = Container.objects.filter(**at("location__clinic_id"))
    held = Lot.objects.filter(**at("containers__location__clinic_id")).distinct()
    lots = {lot.pk: ReconRow(lot) for lot in held.select_related("product").order_by("product__name", "expiry")}
    for row in entries.values("lot_id", "bucket").annotate(total=Sum("quantity")).order_by():
        setattr(lots[row["lot_id"]], row["bucket"], _dec(row["total"]))
    for row in containers.values("lot_id").annotate(on_hand=Sum("balance"), n=CountAgg("pk")).order_by():
        lots[row["lot_id"]].on_hand = _dec(row["on_hand"])
        lots[row["lot_id"]].containers = row["n"]
    dec = DecimalField(max_digits=12, decimal_places=2)
    effect = Case(*[When(bucket=b, then=F("quantity") * Value(Decimal(e), output_field=dec))
                    for b, e in CONTAINER_EFFECT.items() if e], default=Value(ZERO, output_field=dec), output_field=dec)
    ledger_balance = (entries.values("container_id").annotate(ledger=Sum(effect)).order_by())
    cached = dict(containers.values_list("pk", "balance"))
    labels = None
    mismatches = []
    for row in ledger_balance:
        book = _dec(row["ledger"])
        if cached.get(row["container_id"]) != book or book < 0:
            labels = labels or dict(containers.values_list("pk", "label"))
            mismatches.append({"container": labels[row["container_id"]], "ledger": book,
                               "cached": cached.get(row["container_id"])})
    in_session = Case(When(bucket=Bucket.DRAWN, then=F("quantity")),
                      When(bucket__in=[Bucket.ADMINISTERED, Bucket.WASTED], then=-F("quantity")),
                      default=Value(ZERO, output_field=dec), output_field=dec)
    open_sessions = list(entries.filter(session__isnull=False).values(
        "session_id", "session__external_id", "session__status", "session__scheduled_start")
        .annotate(residue=Sum(in_session))
        .filter(Q(residue__gt=Decimal("0.005")) | Q(residue__lt=Decimal("-0.005"))).order_by("session__scheduled_start"))
    for row in open_sessions:
        row["residue"] = _dec(row["residue"])
    # A dose the session record says was given, with no live draw behind it: given from stock the ledger never
    # released (or from outside it).
    drawn = LedgerEntry.objects.filter(session=OuterRef("pk"), kind=LedgerEntry.Kind.DRAW, reversed_by__isnull=True)
    undrawn = list(TreatmentSession.objects.filter(administered_mg__gt=0, **at("patient__clinic_id")).exclude(Exists(drawn))
                   .select_related("patient").order_by("dose_started_at"))
    return Reconciliation(list(lots.values()), mismatches, open_sessions, undrawn)
