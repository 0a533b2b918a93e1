"""Property: over any valid sequence of custody events, every millilitre stays accounted for.

Each example is a plan: every kind of custody operation once, plus a few more, in an order Hypothesis chooses, with
amounts, containers, sessions, counts and resolutions Hypothesis chooses. Each step is generated VALID from what the
ledger holds at that moment (tests/custody/sequences.py models it), doing its prerequisites first: a draw only
from a container with stock (a delivery is received first when none has), for a session whose dose was prepared and
verified through the treatments services; an administration (the nurse starts and ends the dose, custody posts it)
or a witnessed waste only of what was drawn for the session and is not yet used (drawn first when nothing is); a
destruction, loss or return only of what a container still holds; a count of every container in the store, its
discrepancies resolved by the compliance lead; a reversal only of an entry nothing depends on. Every such step
must be ACCEPTED: a refusal fails the test (a generator or service bug) and is never swallowed. Some steps first
make one deliberately invalid attempt (overdraw, waste or loss above what remains, a witness entering another
amount, a second administration, a count leaving a container out), which must be refused and leave the ledger,
the balances and the pending records exactly as they were.

After every step the new ledger entries are exactly the ones the model expects, and per container and per lot
    received + count adjustments = on hand + administered + wasted + destroyed + lost + returned + drawn-awaiting
to 0.01 mL, each ledger-derived balance equal to the cached one and never negative. At the end of each example the
app's own reconciliation agrees with the model, and no container went below zero at any point of the ledger's
history. Finally the test checks that each kind of operation succeeded in at least 30 % of the examples, so the
property cannot quietly stop exercising a path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from ketaclinic.clinic import services as clinic_services
from ketaclinic.clinic.models import Room
from ketaclinic.custody import services
from ketaclinic.custody.models import (
    CONTAINER_EFFECT,
    Attestation,
    Bucket,
    Container,
    Count,
    CountLine,
    Incident,
    LedgerEntry,
    LossReport,
    PendingEvent,
)
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments import stock
from ketaclinic.treatments.models import SessionEvent, TreatmentSession
from tests.custody.sequences import ZERO, Model, Posting, cents, q2
from tests.treatments import factories

pytestmark = pytest.mark.django_db

K = LedgerEntry.Kind
# Every kind of operation the property must exercise, and the share of examples each must succeed in.
MUST_SUCCEED = ("draw", "administer", "waste", "destroy", "loss", "return", "count", "reverse")
PLAN = (*MUST_SUCCEED, "receive")
MIN_SHARE = 0.30
EXAMPLES = 12
MAX_EXTRA_STEPS = 4
MAX_CONTAINERS = 6
LOTS = {"PROP-A": 365, "PROP-B": 200}  # lot number -> days to expiry from today

# Examples run, and examples in which each kind succeeded at least once: filled by the one test below during its
# own run (cleared at its start), so the check holds whichever process runs it.
SUCCESSES: Counter[str] = Counter()
RUN: Counter[str] = Counter()


@dataclass
class World:
    """Everything built once, through the services, before the examples run (each example is rolled back)."""

    nurse: object
    prescriber: object
    compliance: object
    supplier: object
    distributor: object
    product: object
    location: object
    sessions: list[int]
    prepared_mL: dict[int, Decimal]


@pytest.fixture
def world(clinic, staff, make_patient, actor_for, supplier, reverse_distributor, vial_product) -> World:
    """Three IV ketamine sessions, each in its own chair, dose prepared by the nurse and verified by the
    prescriber; a store that supplies their room."""
    room = clinic_services.add_room(actor=actor_for("clinic_admin"), clinic=clinic, name="Property infusion room",
                                    kind=Room.Kind.INFUSION, chairs=3)
    location = services.add_location(actor_for("clinic_admin"), clinic=clinic, name="Property safe", rooms=[room])
    sessions, prepared = [], {}
    # Doses are prepared only at strengths on hand. The product reaches "prepared and verified, stock used up
    # since" when the vials on hand at preparation went to other sessions; the model starts from an empty ledger,
    # so the ledger's account (which offers today's strengths and lots) is lifted while the doses are prepared: the
    # label strengths and a typed lot stand in for the stock custody would have offered then.
    previous_account = stock.register_account(None)
    try:
        for chair in room.chairs.order_by("label"):
            order = factories.make_order(make_patient(), staff)
            s = factories.ready_to_start(factories.book_now(order, staff, None, chair=chair), staff)
            assert s.prepared_dose_mg and s.verified_at, "the session must be prepared and verified before any draw"
            sessions.append(s.pk)
            prepared[s.pk] = q2(s.prepared_dose_mg / vial_product.mg_per_unit)
    finally:
        stock.register_account(previous_account)
    return World(actor_for("nurse"), actor_for("prescriber"), actor_for("compliance"), supplier, reverse_distributor,
                 vial_product, location, sessions, prepared)


# --------------------------------------------------------------------------------------------- the checks
def snapshot() -> tuple:
    """What a refused step must leave untouched."""
    return (list(LedgerEntry.objects.order_by("seq").values_list("seq", "hash")),
            sorted(Container.objects.values_list("pk", "balance", "opened_at")),
            sorted(PendingEvent.objects.values_list("pk", "status")), Attestation.objects.count(),
            Count.objects.count(), LossReport.objects.count(), Incident.objects.count(),
            sorted(TreatmentSession.objects.values_list("pk", "status", "administered_mg")))


def refused(what: str, call: Callable[[], object], tally: set[str]) -> None:
    """A deliberately invalid attempt: refused with a CustodyError, and nothing changed."""
    before = snapshot()
    with pytest.raises(services.CustodyError):
        call()
    assert snapshot() == before, f"the refused {what} changed the records"
    event(f"refused as expected: {what}")
    tally.add(f"refused: {what}")


def law_holds(t: dict[str, Decimal], on_hand: Decimal) -> bool:
    """received + adjusted = on hand + administered + wasted + destroyed + lost + returned + drawn-awaiting."""
    awaiting = t[Bucket.DRAWN] - t[Bucket.ADMINISTERED] - t[Bucket.WASTED]
    return awaiting >= 0 and t[Bucket.RECEIVED] + t[Bucket.ADJUSTED] == (
        on_hand + t[Bucket.ADMINISTERED] + t[Bucket.WASTED] + t[Bucket.DESTROYED] + t[Bucket.LOST]
        + t[Bucket.RETURNED] + awaiting)


def check_conservation(model: Model) -> None:
    """After every step: per container and per lot, from the ledger (two queries)."""
    per: dict[int, dict[str, Decimal]] = {pk: {b: ZERO for b in Bucket.values} for pk in model.balance}
    for r in LedgerEntry.objects.values("container_id", "bucket").annotate(t=Sum("quantity")).order_by():
        per[r["container_id"]][r["bucket"]] = q2(r["t"])
    cached = {pk: q2(b) for pk, b in Container.objects.values_list("pk", "balance")}
    assert set(cached) == set(per), "containers the test does not know of"
    lots: dict[int, dict[str, Decimal]] = {lot: {b: ZERO for b in Bucket.values} for lot in model.totals}
    on_hand: Counter[int] = Counter()
    for pk, t in per.items():
        ledger = sum((CONTAINER_EFFECT[b] * t[b] for b in Bucket.values), ZERO)
        label = model.label[pk]
        assert ledger == cached[pk] == model.balance[pk], (
            f"{label}: ledger says {ledger}, cached balance {cached[pk]}, expected {model.balance[pk]}")
        assert ledger >= 0, f"{label} holds {ledger} mL"
        assert law_holds(t, cached[pk]), f"{label} does not balance: {t}, on hand {cached[pk]}"
        lot = model.lot_of[pk]
        on_hand[lot] += cached[pk]
        for b in Bucket.values:
            lots[lot][b] += t[b]
    for lot, t in lots.items():
        assert t == model.totals[lot], f"lot {lot}: ledger {t} != expected {model.totals[lot]}"
        assert law_holds(t, on_hand[lot]), f"lot {lot} does not balance: {t}, on hand {on_hand[lot]}"


def check_reconciliation(model: Model) -> None:
    """At the end of an example: the app's reconciliation report says what the model says; the ledger replayed
    in order never takes a container below zero; the hash chain is intact."""
    rec = services.reconciliation()
    assert rec.balances and rec.container_mismatches == [], rec.container_mismatches
    rows = {row.lot.pk: row for row in rec.rows if row.lot.pk in model.totals}
    assert set(rows) == set(model.totals)
    for lot, row in rows.items():
        assert {b: getattr(row, b) for b in Bucket.values} == model.totals[lot], row
        assert row.on_hand == sum((b for c, b in model.balance.items() if model.lot_of[c] == lot), ZERO)
        assert row.difference == 0 and row.in_process >= 0, row
    residues = {r["session_id"]: r["residue"] for r in rec.open_sessions}
    for s in model.draws:
        assert residues.get(s, ZERO) == model.residue(s), f"session {s}: drawn and not yet used"
    running: Counter[int] = Counter()
    for e in LedgerEntry.objects.order_by("seq").only("seq", "container_id", "bucket", "quantity"):
        running[e.container_id] += CONTAINER_EFFECT[e.bucket] * q2(e.quantity)
        assert running[e.container_id] >= 0, f"entry {e.seq} takes container {e.container_id} below zero"
    assert services.verify_ledger() is None


# --------------------------------------------------------------------------------------------- the steps
class Steps:
    """One example. Each operation does its prerequisites, then a step the model says is valid, then checks the
    entries it posted against the model."""

    def __init__(self, w: World, data, tally: set[str]):
        self.w, self.data, self.tally = w, data, tally
        self.model = Model()
        self.last_seq = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    def pick(self, strategy, label: str):
        return self.data.draw(strategy, label=label)

    def amount(self, most: Decimal, label: str) -> Decimal:
        """0.01 up to ``most``, and often exactly ``most`` (emptying a container or a residue)."""
        n = int(most * 100)
        return cents(self.pick(st.one_of(st.just(n), st.integers(1, n)), label))

    def posted(self, kind: str, expected: list[Posting]) -> None:
        """The step's new entries are exactly ``expected``, in order; the model takes them; the law holds."""
        new = list(LedgerEntry.objects.filter(seq__gt=self.last_seq).order_by("seq"))
        assert [Posting.of(e) for e in new] == expected, f"{kind} posted {[Posting.of(e) for e in new]}"
        for e, p in zip(new, expected, strict=True):
            self.model.apply(e.pk, p)
        if new:
            self.last_seq = new[-1].seq
        check_conservation(self.model)
        note(f"{kind}: {[(p.kind, self.model.label[p.container], str(p.quantity)) for p in expected]}")
        event(f"succeeded: {kind}")
        self.tally.add(kind)

    def session(self, pk: int) -> TreatmentSession:
        return TreatmentSession.objects.get(pk=pk)

    def container(self, pk: int) -> Container:
        return Container.objects.select_related("lot__product", "location").get(pk=pk)

    # ------------------------------------------------------------------------------- prerequisites
    def can_receive(self) -> bool:
        return len(self.model.balance) < MAX_CONTAINERS

    def ensure_stock(self) -> bool:
        if not self.model.stocked() and self.can_receive():
            self.receive()
        return bool(self.model.stocked())

    def ensure_residue(self, sessions: list[int]) -> list[int]:
        """Sessions among ``sessions`` with something drawn and not yet used (drawing for one if none has)."""
        if sessions and not [s for s in sessions if self.model.residue(s) > 0] and self.ensure_stock():
            self.draw_for_session(sessions)
        return [s for s in sessions if self.model.residue(s) > 0]

    def perform(self, kind: str) -> None:
        m, sessions = self.model, self.w.sessions
        if kind == "receive" and self.can_receive():
            return self.receive()
        if kind in ("draw", "destroy", "loss", "return") and self.ensure_stock():
            return {"draw": lambda: self.draw_for_session(sessions), "destroy": self.destroy, "loss": self.loss,
                    "return": self.return_stock}[kind]()
        if kind == "administer":
            if candidates := self.ensure_residue([s for s in sessions if s not in m.administered]):
                return self.administer(candidates)
        if kind == "waste" and (candidates := self.ensure_residue(sessions)):
            return self.waste(candidates)
        if kind == "count":
            return self.count()
        if kind == "reverse":
            if not m.reversible() and self.ensure_stock():
                self.draw_for_session(sessions)  # a draw nothing has used yet can be reversed
            if m.reversible():
                return self.reverse()
        event(f"nothing valid for {kind}: counted instead")  # e.g. every session already given its dose
        self.tally.add(f"counted instead of {kind}")
        self.count()

    # ------------------------------------------------------------------------------- receiving
    def receive(self) -> None:
        lot = self.pick(st.sampled_from(sorted(LOTS)), "lot")
        packages = self.pick(st.integers(1, min(2, MAX_CONTAINERS - len(self.model.balance))), "packages")
        today = timezone.localdate()
        self.model.receipts += 1
        receipt = services.enter_receipt(
            self.w.nurse, supplier=self.w.supplier, invoice_number=f"INV-{self.model.receipts}", invoice_date=today,
            received_on=today, product=self.w.product, lot_number=lot, expiry=today + timedelta(days=LOTS[lot]),
            packages=packages, location=self.w.location)
        containers = services.countersign_receipt(self.w.prescriber, receipt)
        assert len(containers) == packages
        for c in containers:
            self.model.add_container(c.pk, c.lot_id, c.label)
        self.posted("receive", [Posting(K.RECEIVE, Bucket.RECEIVED, c.pk, q2(self.w.product.units_per_container))
                                for c in containers])

    # ------------------------------------------------------------------------------- dispensing
    def draw_for_session(self, sessions: list[int]) -> None:
        c = self.pick(st.sampled_from(self.model.stocked()), "container")
        s = self.pick(st.sampled_from(sessions), "session")
        balance = self.model.balance[c]
        if self.pick(st.booleans(), "try an overdraw first"):
            refused("overdraw", lambda: services.draw(self.w.nurse, container=self.container(c),
                                                      session=self.session(s), quantity=balance + Decimal("0.01")),
                    self.tally)
        quantity = self.amount(balance, "mL drawn")
        services.draw(self.w.nurse, container=self.container(c), session=self.session(s), quantity=quantity)
        self.posted("draw", [Posting(K.DRAW, Bucket.DRAWN, c, quantity, s)])

    def administer(self, sessions: list[int]) -> None:
        """The nurse starts and ends the dose (treatments services), then custody posts what the record says."""
        s = self.pick(st.sampled_from(sessions), "session given its dose")
        quantity = self.amount(min(self.model.residue(s), self.w.prepared_mL[s]), "mL given")
        mg = q2(quantity * self.w.product.mg_per_unit)
        session = treatments.start_dose(actor=self.w.nurse, session=self.session(s))
        treatments.dosing_event(actor=self.w.nurse, session=session, kind=SessionEvent.Kind.STOP,
                                administered_mg=str(mg), note="amount read from the pump")
        services.record_administration(self.w.nurse, self.session(s))
        self.model.administered.add(s)
        self.posted("administer", self.model.expect_administer(s, quantity))
        if self.pick(st.booleans(), "try to record it twice"):
            refused("second administration", lambda: services.record_administration(self.w.nurse, self.session(s)),
                    self.tally)

    def waste(self, sessions: list[int]) -> None:
        """The nurse records the residue; a second licensed clinician (not the one who gave the dose) witnesses."""
        s = self.pick(st.sampled_from(sessions), "session wasted")
        residue = self.model.residue(s)
        if self.pick(st.booleans(), "try to waste more than the residue first"):
            refused("waste above the residue", lambda: services.request_waste(
                self.w.nurse, session=self.session(s), quantity=residue + Decimal("0.01"), method="sink"),
                self.tally)
        quantity = self.amount(residue, "mL wasted")
        pending = services.request_waste(self.w.nurse, session=self.session(s), quantity=quantity,
                                         method="expelled into drug-disposal container")
        assert pending.witnesses_required <= 1, "this test has one licensed witness besides the nurse"
        if pending.witnesses_required:
            if self.pick(st.booleans(), "witness enters a different amount first"):
                refused("witness amount mismatch", lambda: services.attest(
                    self.w.prescriber, pending, quantity + Decimal("0.01")), self.tally)
            services.attest(self.w.prescriber, pending, quantity)
        assert PendingEvent.objects.get(pk=pending.pk).status == PendingEvent.Status.POSTED
        self.posted("waste", self.model.expect_waste(s, quantity))

    # ------------------------------------------------------------------------------- disposal
    def destroy(self) -> None:
        c = self.pick(st.sampled_from(self.model.stocked()), "container destroyed")
        quantity = self.amount(self.model.balance[c], "mL destroyed")
        pending = services.request_destruction(self.w.nurse, container=self.container(c), quantity=quantity,
                                               method="chemical digestion kit", place="Property safe room")
        services.attest(self.w.prescriber, pending, quantity)
        assert PendingEvent.objects.get(pk=pending.pk).status == PendingEvent.Status.PENDING, "two witnesses needed"
        services.attest(self.w.compliance, pending, quantity)
        assert PendingEvent.objects.get(pk=pending.pk).status == PendingEvent.Status.POSTED
        self.posted("destroy", [Posting(K.DESTROY, Bucket.DESTROYED, c, quantity)])

    def loss(self) -> None:
        c = self.pick(st.sampled_from(self.model.stocked()), "container lost from")
        balance = self.model.balance[c]
        kind = self.pick(st.sampled_from(LossReport.Kind.values), "loss kind")
        if self.pick(st.booleans(), "try to report more than remains first"):
            refused("loss above the balance", lambda: services.report_loss(
                self.w.nurse, container=self.container(c), quantity=balance + Decimal("0.01"), kind=kind,
                discovered_at=timezone.now(), circumstances="Vial found cracked in the safe."), self.tally)
        quantity = self.amount(balance, "mL lost")
        services.report_loss(self.w.nurse, container=self.container(c), quantity=quantity, kind=kind,
                             discovered_at=timezone.now(), circumstances="Vial found cracked in the safe.")
        self.posted("loss", [Posting(K.LOSS, Bucket.LOST, c, quantity)])

    def return_stock(self) -> None:
        c = self.pick(st.sampled_from(self.model.stocked()), "container returned")
        quantity = self.amount(self.model.balance[c], "mL returned")
        services.return_stock(self.w.prescriber, container=self.container(c), quantity=quantity,
                              distributor=self.w.distributor,
                              reason=self.pick(st.sampled_from(["expired", "recalled", "unwanted"]), "reason"))
        self.posted("return", [Posting(K.RETURN, Bucket.RETURNED, c, quantity)])

    # ------------------------------------------------------------------------------- counts
    def count(self) -> None:
        """A blind count of the whole store; each discrepancy is resolved by the compliance lead at once."""
        pks = sorted(self.model.balance)
        lines, found = [], {}
        for pk in pks:
            container = self.container(pk)
            book = self.model.balance[pk]
            counted = book if self.pick(st.booleans(), f"{container.label} counts as booked") else cents(
                self.pick(st.integers(0, int(services.count_maximum(container) * 100)), f"{container.label} count"))
            methods = [CountLine.Method.EXACT] + ([CountLine.Method.ESTIMATED] if pk in self.model.opened else [])
            found[pk] = counted
            lines.append(services.CountInput(container, counted, self.pick(st.sampled_from(methods), "method")))
        if stocked := self.model.stocked():
            if self.pick(st.booleans(), "try leaving a container out first"):
                left_out = self.pick(st.sampled_from(stocked), "left out")
                refused("count missing a container", lambda: services.submit_count(
                    self.w.nurse, location=self.w.location, kind=Count.Kind.ROUTINE,
                    lines=[ln for ln in lines if ln.container.pk != left_out]), self.tally)
        count = services.submit_count(self.w.nurse, location=self.w.location, kind=Count.Kind.ROUTINE, lines=lines)
        off = [pk for pk in pks if found[pk] != self.model.balance[pk]]
        assert count.discrepancies == len(off)
        expected = []
        for pk in off:
            incident = Incident.objects.get(count_line__count=count, count_line__container_id=pk)
            resolution = self.pick(st.sampled_from(Incident.Resolution.values), "resolution")
            services.resolve_incident(self.w.compliance, incident, resolution=resolution,
                                      reason="Recounted together with the compliance lead.")
            if resolution == Incident.Resolution.ADJUST:
                expected.append(Posting(K.COUNT_ADJUST, Bucket.ADJUSTED, pk, found[pk] - self.model.balance[pk]))
        self.posted("count", expected)

    # ------------------------------------------------------------------------------- corrections
    def reverse(self) -> None:
        pk = self.pick(st.sampled_from(self.model.reversible()), "entry reversed")
        services.reverse_entry(self.w.compliance, LedgerEntry.objects.get(pk=pk), "Entered in error; corrected.")
        self.posted("reverse", [self.model.expect_reversal(pk)])


def run_example(w: World, data, tally: set[str]) -> None:
    steps = Steps(w, data, tally)
    steps.receive()
    extra = data.draw(st.lists(st.sampled_from(PLAN), max_size=MAX_EXTRA_STEPS), label="extra steps")
    for kind in data.draw(st.permutations([*PLAN, *extra]), label="plan"):
        steps.perform(kind)
    check_reconciliation(steps.model)


def test_every_millilitre_accounted_for_over_valid_sequences(world, request):
    """Runs the property here, inside one test, so the success counts checked below are this run's own."""
    SUCCESSES.clear()
    RUN.clear()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def conservation(data):
        tally: set[str] = set()
        savepoint = transaction.savepoint_create()  # each example starts from the same world
        try:
            run_example(world, data, tally)
        finally:
            transaction.savepoint_rollback(savepoint)
        RUN["examples"] += 1
        SUCCESSES.update(tally)

    conservation()

    shares = {kind: round(SUCCESSES[kind] / RUN["examples"], 2) for kind in sorted(SUCCESSES)}
    request.node.user_properties.append(("success_shares", shares))
    weak = {kind: shares.get(kind, 0.0) for kind in MUST_SUCCEED if shares.get(kind, 0.0) < MIN_SHARE}
    assert not weak, (f"these operations succeeded in fewer than {MIN_SHARE:.0%} of {RUN['examples']} examples: "
                      f"{weak} (all shares: {shares})")
