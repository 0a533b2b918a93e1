"""Fixtures of the reminders' tests, reached through the apps' own services: a patient with an e-mail address and a
phone, SMS consent recorded by the front desk, a booked dosing session, and no quiet hours unless a test sets them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from ketaclinic.reminders import services
from ketaclinic.reminders.channels import LocmemSmsBackend
from ketaclinic.reminders.contacts import settings_for
from tests.factories import actor, book_at, bookable, chair_minutes, make_order, make_rooms, next_bookable

PHONE = "(303) 555-0142"
E164 = "+13035550142"


@pytest.fixture(autouse=True)
def _empty_outboxes():
    LocmemSmsBackend.outbox = []
    LocmemSmsBackend.fail_next = 0
    LocmemSmsBackend.lose_answer_next = 0
    mail.outbox = []
    yield
    LocmemSmsBackend.outbox = []
    LocmemSmsBackend.fail_next = 0


def set_reminder_settings(clinic, staff, **values):
    """Change the clinic's reminder settings through the clinic admin's use case."""
    cfg = settings_for(clinic)
    current = {name: getattr(cfg, name) for name in services.SETTINGS_FIELDS}
    return services.update_settings(actor=actor(staff["clinic_admin"]), clinic=clinic, values={**current, **values})


@pytest.fixture
def no_quiet_hours(clinic, staff):
    """Quiet hours off (from = until), so a test about lead times holds at any moment of the date matrix."""
    return set_reminder_settings(clinic, staff, quiet_start=time(0, 0), quiet_end=time(0, 0))


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def texter(make_patient, staff):
    """A patient with an e-mail address and a mobile number who consented to texts (recorded by the front desk)."""

    def make(phone=PHONE, email="avery@example.invalid", sms=True):
        p = make_patient(phone=phone, email=email)
        if sms:
            services.record_consent(actor=actor(staff["front_desk"]), patient=p, channel="sms", allowed=True,
                                    note="Signed the texting consent at intake")
        return p

    return make


@pytest.fixture
def book(staff, rooms, clock):
    """``book(patient, hours_ahead)``: a signed order and a dosing session that far ahead (or at ``start``). When the
    clinic does not book a session that far ahead (a weekend, the night, past closing), the test clock first moves on
    until it does, to the clinic's next bookable time less ``hours_ahead``: the lead time the test is about is kept,
    and the session stands inside the clinic's hours on a working day."""
    orders = {}

    def make(patient, hours_ahead: float = 0, chair="a1", start=None):
        if patient.pk not in orders:
            orders[patient.pk] = make_order(patient, staff)
        order = orders[patient.pk]
        if start is None:
            start = (timezone.now() + timedelta(hours=hours_ahead)).replace(microsecond=0)
            if not bookable(order.patient.clinic, start, chair_minutes(order)):
                opens = next_bookable(order.patient.clinic, start, chair_minutes(order))
                clock.shift(opens - start)
                start = opens
        return book_at(order, staff, start, chair=rooms[chair])

    return make
