"""Fixtures for measures and portal tests: dosing sessions, portal patients, scale answers."""

from __future__ import annotations

import pytest

#: An induction series as an order of three a week allows it (days after the first visit): never more than
#: three in any seven days.
INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)


@pytest.fixture
def make_session(staff, clinic):
    """A treatment visit built through the treatment services (tests.factories.dosed_session), one order per
    patient written at its first visit: ``dosed`` visits are booked at ``start`` (now by default, or the clinic's
    next bookable time: tests.factories.open_now), dosed (``mg`` given, 35 mg
    prepared for 70 kg) and discharged back then; otherwise only booked at ``start`` (a future time).
    ``drug="esketamine"`` uses the 56 mg Spravato order. Visits of one patient are built in time order."""
    from tests.factories import ESK, IV, book_at, dosed_session, make_order, make_rooms, open_now

    rooms: dict = {}
    orders: dict[int, object] = {}

    def make(patient, *, start=None, dosed=True, mg=None, drug="ketamine", end="discharged"):
        if not rooms:
            rooms.update(make_rooms(clinic, staff["clinic_admin"]))
        data = ESK if drug == "esketamine" else {**IV, "sessions_planned": "52"}
        order = orders.get(patient.pk)
        if not dosed:
            order = order or make_order(patient, staff, data)
            orders[patient.pk] = order
            room = rooms["spravato" if order.route == "intranasal" else "infusion"]
            start = start or open_now(order)  # now, or the clinic's next bookable time
            return book_at(order, staff, start.replace(second=0, microsecond=0), room=room)
        s = dosed_session(patient, staff, order=order, start=start, rooms=rooms, data=data, administered_mg=mg,
                          end=end)
        orders[patient.pk] = s.order
        return s

    return make


@pytest.fixture
def make_portal_patient(make_patient, staff, db):
    """A patient invited to the portal who accepted the invitation (portal services); returns (patient, client)
    signed in with the new-device check already passed."""
    from django.test import Client

    from ketaclinic.portal.services import SESSION_VERIFIED, accept_invitation, invite
    from tests.factories import actor

    counter = {"n": 0}

    def make(**overrides):
        counter["n"] += 1
        email = overrides.pop("email", f"patient{counter['n']}@example.invalid")
        patient = make_patient(email=email, **overrides)
        _, token = invite(actor=actor(staff["front_desk"]), patient=patient, email=email)
        account = accept_invitation(token=token, password="correct horse battery", password2="correct horse battery")
        patient = type(patient).objects.get(pk=patient.pk)  # now with its portal account
        client = Client()
        client.force_login(account.user)
        # The emailed-code step is the portal's own test's business: mark this browser session as past it.
        session = client.session
        session[SESSION_VERIFIED] = account.pk
        session.save()
        return patient, client

    return make


def phq9(*values):
    """PHQ-9 answers q1..q9 from nine values."""
    assert len(values) == 9
    return {f"q{i}": v for i, v in enumerate(values, 1)}


def phq9_total(total: int, item9: int = 0) -> dict:
    """PHQ-9 answers adding up to ``total`` with item 9 as given."""
    rest = total - item9
    values = []
    for _ in range(8):
        v = min(3, rest)
        values.append(v)
        rest -= v
    assert rest == 0
    return phq9(*values, item9)
