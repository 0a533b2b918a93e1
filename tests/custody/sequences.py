"""The custody ledger as the conservation property expects it: a plain-Python model of containers, draws and
ledger entries, used both to generate only valid steps and as the oracle each step's postings are checked against.

It knows the rules a step must satisfy to be accepted (a draw needs stock, an administration or a waste needs a
residue drawn for the session, a reversal needs an entry nothing depends on) and how the services allocate an
administration or a waste over a session's draws (first drawn, first used)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ketaclinic.custody.models import CONTAINER_EFFECT, Bucket, LedgerEntry

Q = Decimal("0.01")
ZERO = Decimal("0.00")
K = LedgerEntry.Kind


def q2(value) -> Decimal:
    """A database sum or a literal as an exact 0.01 Decimal (SQLite sums decimals in floating point)."""
    return ZERO if value is None else Decimal(str(value)).quantize(Q)


def cents(n: int) -> Decimal:
    return (Decimal(n) / 100).quantize(Q)


@dataclass(frozen=True)
class Posting:
    """One ledger entry as the test expects it (compared field by field with the real entry)."""

    kind: str
    bucket: str
    container: int
    quantity: Decimal
    session: int | None = None
    source: int | None = None
    reverses: int | None = None

    @classmethod
    def of(cls, e: LedgerEntry) -> Posting:
        return cls(e.kind, e.bucket, e.container_id, q2(e.quantity), e.session_id, e.source_id, e.reverses_id)


@dataclass
class Entry:
    pk: int
    posting: Posting
    reversed: bool = False


@dataclass
class Draw:
    entry: int
    container: int
    quantity: Decimal
    administered: Decimal = ZERO
    wasted: Decimal = ZERO
    reversed: bool = False

    @property
    def residue(self) -> Decimal:
        return self.quantity - self.administered - self.wasted


@dataclass
class Model:
    """What the ledger should hold. ``apply`` takes the postings the services made (after they were checked
    against ``expect_*``) and moves the model on."""

    balance: dict[int, Decimal] = field(default_factory=dict)  # container pk -> on hand
    lot_of: dict[int, int] = field(default_factory=dict)  # container pk -> lot pk
    label: dict[int, str] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)
    totals: dict[int, dict[str, Decimal]] = field(default_factory=dict)  # lot pk -> bucket -> sum
    entries: dict[int, Entry] = field(default_factory=dict)
    draws: dict[int, list[Draw]] = field(default_factory=dict)  # session pk -> its draws, in seq order
    administered: set[int] = field(default_factory=set)  # sessions whose administration is recorded
    receipts: int = 0

    # ----------------------------------------------------------------------------------- what may happen
    def stocked(self) -> list[int]:
        return sorted(c for c, b in self.balance.items() if b > 0)

    def live_draws(self, session: int) -> list[Draw]:
        return [d for d in self.draws.get(session, []) if not d.reversed]

    def residue(self, session: int) -> Decimal:
        return sum((d.residue for d in self.live_draws(session)), ZERO)

    def reversible(self) -> list[int]:
        """Entries the compliance lead may reverse now: not a reversal, not yet reversed, nothing drawn against
        it, and not taking its container below zero. Administrations and wastes are not generated: reversing one
        re-opens the session's administration, and ``reverse_entry`` then still refuses the draw behind it (the
        reversing entry carries the draw as its source and counts as a live use), which this model leaves out."""
        out = []
        for pk, e in sorted(self.entries.items()):
            p = e.posting
            if e.reversed or p.kind in (K.REVERSAL, K.ADMINISTER, K.WASTE):
                continue
            if p.kind == K.DRAW and any(o.posting.source == pk for o in self.entries.values()):
                continue
            if p.kind == K.RECEIVE and any(
                    o.posting.container == p.container and o.pk != pk and o.posting.kind != K.REVERSAL
                    and not o.reversed for o in self.entries.values()):
                continue
            if self.balance[p.container] - CONTAINER_EFFECT[p.bucket] * p.quantity < 0:
                continue
            out.append(pk)
        return out

    # ----------------------------------------------------------------------------------- expected postings
    def _allocate(self, session: int, quantity: Decimal, kind: str) -> list[Posting]:
        """First drawn, first used, as ``record_administration`` and a witnessed waste post it."""
        out, remaining = [], quantity
        for d in self.live_draws(session):
            take = min(d.residue, remaining)
            if take <= 0:
                continue
            out.append(Posting(kind, LedgerEntry.KIND_BUCKET[kind], d.container, take, session, d.entry))
            remaining -= take
        assert remaining == 0, f"the generator asked for more than session {session}'s residue"
        return out

    def expect_administer(self, session: int, quantity: Decimal) -> list[Posting]:
        return self._allocate(session, quantity, K.ADMINISTER)

    def expect_waste(self, session: int, quantity: Decimal) -> list[Posting]:
        return self._allocate(session, quantity, K.WASTE)

    def expect_reversal(self, pk: int) -> Posting:
        p = self.entries[pk].posting
        return Posting(K.REVERSAL, p.bucket, p.container, -p.quantity, p.session, p.source, pk)

    # ----------------------------------------------------------------------------------- moving on
    def add_container(self, pk: int, lot: int, label: str) -> None:
        self.balance[pk] = ZERO
        self.lot_of[pk] = lot
        self.label[pk] = label
        self.totals.setdefault(lot, {b: ZERO for b in Bucket.values})

    def apply(self, pk: int, p: Posting) -> None:
        self.balance[p.container] += CONTAINER_EFFECT[p.bucket] * p.quantity
        self.totals[self.lot_of[p.container]][p.bucket] += p.quantity
        self.entries[pk] = Entry(pk, p)
        if p.kind == K.DRAW:
            self.opened.add(p.container)
            self.draws.setdefault(p.session, []).append(Draw(pk, p.container, p.quantity))
        elif p.kind in (K.ADMINISTER, K.WASTE):
            draw = next(d for d in self.draws[p.session] if d.entry == p.source)
            if p.kind == K.ADMINISTER:
                draw.administered += p.quantity
            else:
                draw.wasted += p.quantity
        elif p.kind == K.REVERSAL:
            original = self.entries[p.reverses]
            original.reversed = True
            if original.posting.kind == K.DRAW:
                next(d for d in self.draws[original.posting.session] if d.entry == original.pk).reversed = True
