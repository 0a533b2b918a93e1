"""An integration session is booked as the front desk's calendar books: on one of the clinic's working days, the
whole session inside the clinic's booking hours (Calendar › Hours), inside the offer's window. Anything else is
refused with the hours named, and nothing changes."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from ketaclinic.audit.models import AuditEntry
from ketaclinic.integration import services
from ketaclinic.integration.models import IntegrationSession
from tests.factories import actor, set_booking_hours
from tests.integration.helpers import (
    at,
    offered_after_a_dose_on,
    working_day_before_a_day_off,
    working_day_before_a_working_day,
)

pytestmark = pytest.mark.django_db


def _book(offer, staff, start):
    return services.book(actor=actor(staff["front_desk"]), offer=offer, start=start, therapist=staff["therapist"])


def _unchanged(offer):
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED and offer.scheduled_start is None
    assert offer.therapist_id is None
    assert not AuditEntry.objects.filter(action="integration.booked").exists()


@pytest.fixture
def weekend_offer(patient, staff, rooms, clinic, clock):
    """Dosed on the last working day before days off (a Friday): the window opens on a day the clinic does not
    work and closes on its next working day."""
    return offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_day_off(clinic))


def test_a_start_on_a_day_the_clinic_does_not_work_is_refused(weekend_offer, staff, clinic):
    day_off = weekend_offer.window_start.astimezone(clinic.tz).date()
    assert day_off.weekday() not in clinic.weekdays()
    with pytest.raises(services.IntegrationError) as e:
        _book(weekend_offer, staff, at(clinic, day_off, 14))
    assert e.value.errors["start"] == (f"{day_off:%A} is not one of the clinic's working days: it books from 08:00 "
                                       "to 18:00, Monday to Friday.")
    _unchanged(weekend_offer)


def test_a_start_in_the_night_inside_the_window_is_refused(weekend_offer, staff, clinic):
    """The reported booking: 00:53 the night after the window opened, a minute after its start."""
    night = weekend_offer.window_start.astimezone(clinic.tz).date() + timedelta(days=1)
    while night.weekday() not in clinic.weekdays():  # a working day: the night is refused for the hours alone
        night += timedelta(days=1)
    start = at(clinic, night, 0, 53)
    assert weekend_offer.window_start <= start <= weekend_offer.window_end
    with pytest.raises(services.IntegrationError) as e:
        _book(weekend_offer, staff, start)
    assert e.value.errors["start"] == ("The clinic books from 08:00 to 18:00 on its working days; this integration "
                                       f"session would run {night:%a %Y-%m-%d} 00:53-01:43.")
    _unchanged(weekend_offer)
    booked = _book(weekend_offer, staff, at(clinic, night, 8))  # that morning, when the clinic opens
    assert booked.status == IntegrationSession.Status.BOOKED and booked.scheduled_start == at(clinic, night, 8)
    assert AuditEntry.objects.filter(action="integration.booked").count() == 1


def test_a_session_that_runs_past_closing_is_refused(patient, staff, rooms, clinic, clock):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_working_day(clinic))
    day = offer.window_start.astimezone(clinic.tz).date()  # a working day, the window open from about 10:40
    with pytest.raises(services.IntegrationError) as e:
        _book(offer, staff, at(clinic, day, 17, 30))
    assert e.value.errors["start"] == ("The clinic books from 08:00 to 18:00 on its working days; this integration "
                                       f"session would run {day:%a %Y-%m-%d} 17:30-18:20.")
    _unchanged(offer)
    assert _book(offer, staff, at(clinic, day, 17, 10)).status == IntegrationSession.Status.BOOKED  # ends 18:00


def test_the_hours_are_the_calendars_as_the_clinic_admin_sets_them(weekend_offer, staff, clinic):
    day_off = weekend_offer.window_start.astimezone(clinic.tz).date()
    set_booking_hours(clinic, staff, opens=time(9, 0), closes=time(13, 0), weekdays="0,1,2,3,4,5,6")
    with pytest.raises(services.IntegrationError, match="from 09:00 to 13:00 .* would run .* 12:30-13:20"):
        _book(weekend_offer, staff, at(clinic, day_off + timedelta(days=1), 12, 30))
    _unchanged(weekend_offer)
    assert _book(weekend_offer, staff, at(clinic, day_off + timedelta(days=1), 12, 10)).status == "booked"
