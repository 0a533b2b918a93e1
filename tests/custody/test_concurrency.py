"""Two nurses drawing from one vial at the same moment: never a negative balance, never a lost update.

Needs PostgreSQL (real row locks and concurrent connections): run with DB=postgres. On SQLite the test is
skipped with a visible reason (SQLite serialises writers with IMMEDIATE transactions anyway)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ketaclinic.custody import services
from ketaclinic.custody.models import Container, LedgerEntry
from ketaclinic.custody.services import CustodyError
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _race(container, sessions, amounts, actors):
    """Each draw from its own thread, all at once: each one's ledger entry or the exception it raised."""

    def draw(i: int):
        return lambda: services.draw(actors[i], container=container, session=sessions[i], quantity=amounts[i])

    return at_once([draw(i) for i in range(len(sessions))])


def test_two_simultaneous_draws_that_together_exceed_the_vial_one_is_refused(receive, vial_product, make_patient,
                                                                              make_session, actor_for):
    [vial] = receive(vial_product)
    sessions = [make_session(make_patient()), make_session(make_patient())]
    results = _race(vial, sessions, ["6.00", "6.00"], [actor_for("nurse"), actor_for("prescriber")])
    ok = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, CustodyError)]
    assert len(ok) == 1 and len(refused) == 1, results
    assert "more than" in str(refused[0])
    vial.refresh_from_db()
    assert vial.balance == Decimal("4.00")
    assert services.reconciliation().balances


def test_two_simultaneous_draws_that_fit_both_land_no_lost_update(receive, vial_product, make_patient, make_session,
                                                                 actor_for):
    [vial] = receive(vial_product)
    sessions = [make_session(make_patient()), make_session(make_patient())]
    results = _race(vial, sessions, ["3.00", "2.50"], [actor_for("nurse"), actor_for("prescriber")])
    assert all(isinstance(r, LedgerEntry) for r in results), results
    vial = Container.objects.get(pk=vial.pk)
    assert vial.balance == Decimal("4.50")
    assert LedgerEntry.objects.filter(kind="draw").count() == 2
    assert services.reconciliation().balances and services.verify_ledger() is None
