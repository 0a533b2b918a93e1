"""Esketamine devices at the chair: at least the label's 5 minutes apart, never more than were prepared
(clinical.md §3b 'Device' row; the rule is ketaclinic.clinical.session.next_device)."""

from __future__ import annotations

import pytest

from ketaclinic.treatments import services
from ketaclinic.treatments.models import SessionEvent
from ketaclinic.treatments.services import TreatmentError
from tests.factories import ESK, actor, book_now, let_time_pass, make_order, ready_to_start


def test_next_device_waits_five_minutes_and_stops_at_the_prepared_count(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, ESK), staff, rooms), staff)  # 56 mg: 2 devices
    nurse = actor(staff["nurse"])
    services.start_dose(actor=nurse, session=s)  # the first device
    with pytest.raises(TreatmentError, match="Wait 5 min between devices"):
        services.dosing_event(actor=nurse, session=s, kind=SessionEvent.Kind.DEVICE)
    let_time_pass(5.5)
    services.dosing_event(actor=nurse, session=s, kind=SessionEvent.Kind.DEVICE)
    let_time_pass(5.5)
    with pytest.raises(TreatmentError, match="All 2 device"):
        services.dosing_event(actor=nurse, session=s, kind=SessionEvent.Kind.DEVICE)
    assert s.events.filter(kind=SessionEvent.Kind.DEVICE).count() == 2
