"""The integration booking form is filled in with a time it accepts: the first time inside the offer's window that
the clinic books (its hours on a working day it has not closed, on the calendar's rows), not the window's start,
which is counted to the second from the dose's end and falls at any hour. A time typed to the minute the window
opens in is accepted. The patient's discharge sheet names the times the clinic can book, not the window's night."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.integration import services
from ketaclinic.integration.models import IntegrationSession
from tests.factories import actor
from tests.integration.helpers import (
    at,
    next_working_day,
    offered_after_a_dose_on,
    working_day_before_a_day_off,
    working_day_before_a_working_day,
)
from tests.pdfread import pdf_text

pytestmark = pytest.mark.django_db


def _prefilled(client, offer) -> tuple[str, str]:
    body = client.get(reverse("integration:detail", args=[offer.external_id])).content.decode()
    form = body[body.index('id="book-form"'):]
    form = form[:form.index("</form>")]
    day = re.search(r'name="date"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="date"', form)
    when = re.search(r'name="time"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="time"', form)
    return day.group(1) or day.group(2), when.group(1) or when.group(2)


def test_after_a_dose_before_days_off_the_form_offers_the_next_working_days_opening_and_books_it(
        patient, staff, rooms, clinic, clock, client_for):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_day_off(clinic))
    window_day = offer.window_start.astimezone(clinic.tz).date()
    assert window_day.weekday() not in clinic.weekdays()  # the window opens on a day the clinic does not work
    monday = next_working_day(clinic, window_day)
    desk = client_for("front_desk")
    assert _prefilled(desk, offer) == (monday.isoformat(), "08:00")
    assert services.first_slot(offer) == at(clinic, monday, 8)

    response = desk.post(reverse("integration:book", args=[offer.external_id]),
                         {"date": monday.isoformat(), "time": "08:00", "therapist": staff["therapist"].pk})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.BOOKED and offer.scheduled_start == at(clinic, monday, 8)


def test_the_form_offers_the_first_row_of_the_calendar_after_the_window_opens(patient, staff, rooms, clinic, clock,
                                                                             client_for):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_working_day(clinic))
    opens = timezone.localtime(offer.window_start, clinic.tz)
    assert opens.time() >= time(10, 40) and opens.time() < time(10, 45)
    # the calendar's rows are every 15 minutes from 08:00: the first at or after 10:40:xx is 10:45
    assert _prefilled(client_for("front_desk"), offer) == (opens.date().isoformat(), "10:45")


def test_a_time_typed_to_the_minute_the_window_opens_in_is_accepted(patient, staff, rooms, clinic, clock,
                                                                   client_for):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_working_day(clinic))
    opens = timezone.localtime(offer.window_start, clinic.tz)  # 10:40 and some seconds
    response = client_for("front_desk").post(reverse("integration:book", args=[offer.external_id]), {
        "date": opens.date().isoformat(), "time": f"{opens:%H:%M}", "therapist": staff["therapist"].pk})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.BOOKED
    assert offer.scheduled_start == offer.window_start.replace(second=0, microsecond=0)


def test_a_minute_before_the_window_opens_is_still_refused_and_says_the_first_time_it_books(patient, staff, rooms,
                                                                                          clinic, clock):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_working_day(clinic))
    early = offer.window_start.replace(second=0, microsecond=0) - timedelta(minutes=1)
    with pytest.raises(services.IntegrationError) as e:
        services.book(actor=actor(staff["front_desk"]), offer=offer, start=early, therapist=staff["therapist"])
    first = timezone.localtime(services.first_slot(offer), clinic.tz)
    assert e.value.errors["start"].startswith("Book within the window")
    assert e.value.errors["start"].endswith(f": the first time the clinic books in it is {first:%a %Y-%m-%d} 10:45.")
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED


def test_the_discharge_sheet_names_the_times_the_clinic_can_book_not_the_windows_night(patient, staff, rooms,
                                                                                      clinic, clock, client_for):
    offer = offered_after_a_dose_on(patient, staff, rooms, clock, working_day_before_a_day_off(clinic))
    monday = next_working_day(clinic, offer.window_start.astimezone(clinic.tz).date())
    response = client_for("nurse").get(reverse("treatments:discharge_pdf", args=[offer.dosing_session.external_id]))
    text = pdf_text(response.content)
    ends = timezone.localtime(offer.window_end, clinic.tz)
    assert ends.date() == monday and ends.time() < time(10, 45)  # the window closes mid-morning on that day
    # the last 50-minute session that starts inside the window: the calendar's row at or before its end, 10:30
    assert (f"Integration session with a therapist: call the clinic to book a time between {monday:%a %Y-%m-%d} "
            f"08:00 and {monday:%a %Y-%m-%d} 10:30.") in text
    assert f"{offer.window_start.astimezone(clinic.tz):%a %Y-%m-%d %H:%M}" not in text
