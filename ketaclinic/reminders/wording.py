"""What each reminder says. No clinical instruction is written here: the preparation steps are the clinical core's
(``clinical.preparation``), and a questionnaire reminder names no scale and no score."""

from __future__ import annotations

from ketaclinic.clinical.preparation import preparation_instructions
from ketaclinic.reminders.models import Channel, Kind

STOP_LINE = "Reply STOP to stop these texts."


def when(moment, tz) -> str:
    local = moment.astimezone(tz)
    return f"{local:%A %d %B} at {local:%H:%M} ({local.tzname()})"


def _hello(patient) -> str:
    return f"Hello {patient.preferred_name or patient.legal_given_name},"


def compose(reminder, tz) -> tuple[str, str]:
    """(subject, body) of ``reminder`` for its channel, read in the patient's time zone ``tz``."""
    patient = reminder.patient
    clinic = patient.clinic
    phone = f" Call the clinic to change it: {clinic.phone}." if clinic.phone else " Call the clinic to change it."
    kind = reminder.kind
    if kind == Kind.APPOINTMENT:
        a = reminder.appointment
        subject = f"Your appointment at {clinic.name}"
        lines = [f"You have an appointment at {clinic.name} on {when(a.start, tz)}.{phone}"]
    elif kind == Kind.SESSION:
        s = reminder.session
        hours, minutes = divmod(s.scheduled_minutes, 60)
        subject = f"Your treatment session at {clinic.name}"
        lines = [f"Your treatment session at {clinic.name} is on {when(s.scheduled_start, tz)}. Your visit is booked "
                 f"for {hours} h {minutes:02d} min.{phone}"]
    elif kind == Kind.PREPARATION:
        s = reminder.session
        subject = f"Preparing for your session at {clinic.name}"
        lines = [f"Before your treatment session on {when(s.scheduled_start, tz)}:"]
        lines += [f"- {step}" for step in preparation_instructions(s.drug, s.route)]
    elif kind == Kind.RIDE:
        s = reminder.session
        subject = f"Your ride home from {clinic.name}"
        lines = [f"Your treatment session at {clinic.name} is on {when(s.scheduled_start, tz)}. You must not drive "
                 "afterwards. Reply YES if someone will take you home, or NO if you have no ride yet."]
    else:
        subject = f"A questionnaire is waiting for you at {clinic.name}"
        lines = [f"You have a questionnaire waiting in your {clinic.name} patient portal. It takes a few minutes and "
                 "helps your care team see how you are doing.",
                 "If you are in crisis, call or text 988 now" + (f", or call the clinic: {clinic.phone}." if clinic.phone
                                                                 else ".")]
    if reminder.channel == Channel.SMS:
        return "", " ".join([f"{clinic.name}:", *lines, STOP_LINE])
    return subject, "\n\n".join([_hello(patient), "\n".join(lines)]) + "\n"
