"""Fixtures of the billing tests, reached through the app's own services: a price list, a completed IV session,
a no-show; and a cancelled booking."""

from __future__ import annotations

import pytest

from ketaclinic.billing import services
from ketaclinic.billing.models import Service
from ketaclinic.treatments import services as treatments
from tests.factories import actor, book_at, dosed_session, make_rooms

#: Synthetic test prices in cents (a clinic sets its own; nothing here is a real fee schedule).
PRICES = {Service.CONSULT: 35000, Service.IV_INFUSION: 45000, Service.IM_INJECTION: 30000,
          Service.ESKETAMINE_56: 60000, Service.ESKETAMINE_84: 75000, Service.INTEGRATION: 15000,
          Service.FOLLOW_UP: 12500, Service.NO_SHOW_FEE: 10000}


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def billing(staff):
    return actor(staff["billing"])


@pytest.fixture
def priced(clinic, billing):
    for service, cents in PRICES.items():
        services.set_price(actor=billing, clinic=clinic, service=service, amount_cents=cents)
    return clinic


@pytest.fixture
def completed(patient, staff, rooms, priced):
    """A real IV session: consult, order, booking, pre-checks, verified dose, dosing, discharge (through the
    treatment services)."""
    return dosed_session(patient, staff, rooms=rooms, end="discharged")


@pytest.fixture
def invoiced(completed, billing):
    return services.invoice_session(actor=billing, session=completed)


def cancelled(order, staff, rooms, start, reason: str, *, no_show: bool = False):
    """A session of ``order`` booked in the infusion room at ``start``, then cancelled at the front desk for
    ``reason`` (``no_show``: marked a no-show instead)."""
    session = book_at(order, staff, start, room=rooms["infusion"])
    treatments.cancel_session(actor=actor(staff["front_desk"]), session=session, reason=reason, no_show=no_show)
    return session
