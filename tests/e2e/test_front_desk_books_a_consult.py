"""The front desk signs in, opens the calendar, books a consult for a brand-new patient today by clicking a free
slot, and sees it on the calendar; later, once the prescriber has signed an order, books the whole treatment series
from the order page and sees it on the calendar too.

Whatever the test clock says (a weekend, a holiday, late evening), today must offer a free future slot: the clinic
admin opens every day, all day, in 5-minute rows, and the prescriber is available all that time (set through the
calendar's own services), so the slot is derived from the clock, never from the wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from playwright.sync_api import expect

from ketaclinic.scheduling.models import Appointment
from ketaclinic.treatments.models import TreatmentSession
from ketaclinic.treatments.services import booking
from tests.factories import actor, make_order, make_rooms
from tests.scheduling.conftest import open_every_day, slot_today, types


def test_front_desk_books_a_consult_for_a_new_patient_today_then_a_series(page, live_server, login, staff, clinic,
                                                                          console_errors, clock):
    make_rooms(clinic)
    open_every_day(clinic, actor(staff["clinic_admin"]), [staff["prescriber"], staff["nurse"]], slot=5)
    # The booking is made a little later than the slot is computed: a margin of 7 minutes for the browser's steps.
    start = slot_today(clinic, clock, minutes=15, lead=7)
    at = start

    login("front_desk")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name=re.compile("Calendar"))).to_be_visible()
    page.get_by_role("link", name=f"Book Consult Room at {at:%H:%M}").click()

    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.get_by_label("Starts at")).to_have_value(f"{at:%Y-%m-%dT%H:%M}")
    page.get_by_label("Appointment type").select_option(str(types(clinic)["consult"].pk))
    page.get_by_label("Clinician").select_option(str(staff["prescriber"].pk))
    page.get_by_label("Minutes").fill("15")
    page.get_by_label("New patient: legal given name").fill("Nia")
    page.get_by_label("New patient: legal family name").fill("Firstcall")
    page.get_by_label("New patient: date of birth").fill("1990-05-06")
    page.get_by_label("New patient: sex at birth").select_option("female")
    page.get_by_role("button", name="Book appointment").click()

    expect(page.get_by_text(re.compile(r"Booked consult / psychiatric evaluation for Nia Firstcall \(MRN KC\d{8}\)")))\
        .to_be_visible()
    expect(page.get_by_role("link", name="Nia Firstcall")).to_be_visible()
    a = Appointment.objects.get()
    assert a.start.timestamp() == start.timestamp() and a.start.astimezone(clinic.tz).date() == at.date()
    assert a.patient.legal_family_name == "Firstcall" and a.clinician == staff["prescriber"]

    # Later: the prescriber has seen Nia and signed an order; the front desk books the whole series.
    order = make_order(a.patient, staff)
    series_start = booking.series_default_start(order, clinic)
    # A time still to come on the series' first day (counted on the real clock, so never inside a skipped hour).
    when = "09:00" if series_start != at.date() else f"{(start.astimezone(UTC) + timedelta(minutes=30)).astimezone(clinic.tz):%H:%M}"
    page.goto(f"{live_server.url}/treatments/orders/{order.external_id}/")
    expect(page.get_by_label("Series starts on")).to_have_value(series_start.isoformat())
    book_all = page.get_by_role("form", name="Book every proposed date")
    book_all.get_by_label("Time").fill(when)
    book_all.get_by_role("button", name="Book all").click()
    expect(page.get_by_text(f"Booked session {order.sessions_planned}:")).to_be_visible()
    sessions = list(TreatmentSession.objects.filter(order=order).order_by("scheduled_start"))
    assert len(sessions) == order.sessions_planned

    first = sessions[0].scheduled_start.astimezone(clinic.tz)
    page.goto(f"{live_server.url}/calendar/?date={first:%Y-%m-%d}")
    expect(page.get_by_role("link", name="Nia Firstcall").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"Ketamine .*#1"))).to_be_visible()
    assert console_errors == []
