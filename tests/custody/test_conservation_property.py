"""Property: over any sequence of custody events, every milligram stays accounted for.

received + count adjustments = administered + wasted + destroyed + lost + returned + on hand + drawn-awaiting,
per lot, to 0.01; no container balance goes negative; a draw larger than what remains is always refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaclinic.custody import services
from ketaclinic.custody.models import Container, LedgerEntry, PendingEvent
from ketaclinic.custody.services import CustodyError

pytestmark = pytest.mark.django_db

amount = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("12.00"), places=2)
op = st.one_of(
    st.tuples(st.just("receive"), st.integers(1, 2)),
    st.tuples(st.just("draw"), st.integers(0, 9), st.integers(0, 2), amount),
    st.tuples(st.just("overdraw"), st.integers(0, 9)),
    st.tuples(st.just("administer"), st.integers(0, 2), amount),
    st.tuples(st.just("waste"), st.integers(0, 2), amount),
    st.tuples(st.just("destroy"), st.integers(0, 9), amount),
    st.tuples(st.just("loss"), st.integers(0, 9), amount),
    st.tuples(st.just("return"), st.integers(0, 9), amount),
    st.tuples(st.just("reverse"), st.integers(0, 200)),
)


class Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_conservation_holds_over_random_event_sequences(ops, receive, vial_product, make_patient, make_session,
                                                        actor_for, reverse_distributor, staff):
    try:
        with transaction.atomic():
            _run(ops, receive, vial_product, make_patient, make_session, actor_for, reverse_distributor, staff)
            raise Rollback
    except Rollback:
        pass


def _run(ops, receive, vial_product, make_patient, make_session, actor_for, reverse_distributor, staff):
    nurse, prescriber, compliance = actor_for("nurse"), actor_for("prescriber"), actor_for("compliance")
    sessions = [make_session(make_patient(), dose_mg="35") for _ in range(3)]
    containers: list[Container] = list(receive(vial_product, lot="PROP-1"))
    for step in ops:
        kind = step[0]
        try:
            with transaction.atomic():
                if kind == "receive":
                    containers += receive(vial_product, packages=step[1], lot="PROP-1")
                elif kind == "draw":
                    c = containers[step[1] % len(containers)]
                    services.draw(nurse, container=c, session=sessions[step[2]], quantity=step[3])
                elif kind == "overdraw":
                    c = Container.objects.get(pk=containers[step[1] % len(containers)].pk)
                    before = LedgerEntry.objects.count()
                    with pytest.raises(CustodyError):
                        services.draw(nurse, container=c, session=sessions[0], quantity=c.balance + Decimal("0.01"))
                    assert LedgerEntry.objects.count() == before
                elif kind == "administer":
                    s = sessions[step[1]]
                    type(s).objects.filter(pk=s.pk).update(administered_mg=step[2] * 50, administered_by=staff["nurse"])
                    s.refresh_from_db()
                    services.record_administration(nurse, s)
                elif kind == "waste":
                    event = services.request_waste(nurse, session=sessions[step[1]], quantity=step[2], method="bin")
                    services.attest(prescriber, event, step[2])
                elif kind == "destroy":
                    c = containers[step[1] % len(containers)]
                    event = services.request_destruction(nurse, container=c, quantity=step[2], method="kit",
                                                         place="safe room")
                    services.attest(prescriber, event, step[2])
                    services.attest(compliance, event, step[2])
                    assert PendingEvent.objects.get(pk=event.pk).status == "posted"
                elif kind == "loss":
                    from django.utils import timezone

                    services.report_loss(nurse, container=containers[step[1] % len(containers)], quantity=step[2],
                                         kind="loss", discovered_at=timezone.now(), circumstances="spill")
                elif kind == "return":
                    services.return_stock(prescriber, container=containers[step[1] % len(containers)],
                                          quantity=step[2], distributor=reverse_distributor, reason="unwanted")
                elif kind == "reverse":
                    entries = list(LedgerEntry.objects.order_by("seq"))
                    services.reverse_entry(compliance, entries[step[1] % len(entries)], "correction for the test")
        except CustodyError:
            pass  # a refusal changes nothing; the invariants below still hold
        rec = services.reconciliation()
        assert rec.balances, [(r.lot, r.difference, r.in_process) for r in rec.rows]
        assert not Container.objects.filter(balance__lt=0).exists()
        for row in rec.rows:
            assert row.received + row.adjusted == (row.administered + row.wasted + row.destroyed + row.lost
                                                   + row.returned + row.on_hand + row.in_process)
    assert services.verify_ledger() is None
