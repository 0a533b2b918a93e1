"""Who may be reached how, and when: each patient's channel consent, phone number, time zone and quiet hours."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from ketaclinic.inputs import InputError, check_email_address, phone_number, wall_clock_moment
from ketaclinic.reminders.models import Channel, ChannelConsent, PatientContact, ReminderSettings


def settings_for(clinic) -> ReminderSettings:
    """The clinic's reminder settings (the defaults until the clinic changes one)."""
    found = ReminderSettings.objects.filter(clinic=clinic).first()
    return found or ReminderSettings(clinic=clinic)


def email_address(patient) -> str:
    try:
        return check_email_address(patient.email, where=" on the patient's details") if patient.email else ""
    except InputError:
        return ""


def latest_choices(patient) -> dict[str, ChannelConsent]:
    """The newest consent row of each channel for ``patient``."""
    newest: dict[str, ChannelConsent] = {}
    for row in ChannelConsent.objects.filter(patient=patient).order_by("recorded_at", "pk"):
        newest[row.channel] = row
    return newest


def channel_allowed(patient, channel: str, choices: dict[str, ChannelConsent] | None = None) -> bool:
    """E-mail is on when the patient has an address unless they opted out; SMS only with consent recorded and not
    withdrawn since (STOP)."""
    choices = latest_choices(patient) if choices is None else choices
    row = choices.get(channel)
    if channel == Channel.EMAIL:
        return bool(email_address(patient)) and (row is None or row.allowed)
    return bool(phone_number(patient.phone)) and row is not None and row.allowed


def address_for(patient, channel: str) -> str:
    return email_address(patient) if channel == Channel.EMAIL else phone_number(patient.phone)


def patient_tz(patient) -> zoneinfo.ZoneInfo:
    contact = PatientContact.objects.filter(patient=patient).first()
    if contact and contact.time_zone:
        return zoneinfo.ZoneInfo(contact.time_zone)
    return patient.clinic.tz


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, tz, start: time, end: time) -> datetime:
    """``moment``, or the end of the quiet hours it falls in, read on the wall clock of ``tz`` (the patient's zone):
    a reminder due at 22:30 waits until 08:00 the next morning there, whatever the clocks did overnight."""
    local = moment.astimezone(tz)
    if not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return moment
    day = local.date()
    if start > end and local.time() >= start:  # the evening part of a window that crosses midnight
        day += timedelta(days=1)
    opens = wall_clock_moment(day, end, tz)
    step = end
    while opens is None:  # the end falls in the hour the clocks skip: the first minute after it that exists
        step = (datetime.combine(day, step) + timedelta(minutes=1)).time()
        opens = wall_clock_moment(day, step, tz)
    return opens
