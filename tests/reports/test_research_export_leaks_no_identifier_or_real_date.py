"""The de-identified research export as a researcher receives it: patients with distinctive names, record numbers,
birth dates, phones, e-mails, addresses and notes, sessions, scales and adverse events on known days are built
through the app's services; the export's ZIP (every byte of it, and every byte of every file in it) holds none of
those identifiers, no database id, no staff name and no real date in any common format. One patient's dates keep
their intervals; patients who refused, withdrew or never decided are not in it; ages of 90 and over read "90+"."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration
from ketaclinic.patients import services as patients
from ketaclinic.reports.models import ResearchConsent
from ketaclinic.reports.research import age_band, record_research_consent, write_export
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.models import AdverseEvent, TreatmentSession
from tests.factories import actor, back_at, clinic_open, dosed_session, make_rooms, open_day, template_minutes

#: The export is made this long after the history was built: rows are cut at a common shifted day, the largest
#: shift (here 57 weeks) before the export, so recent history would be cut for a patient shifted later.
LATER = timedelta(days=900)
PHQ9 = {"q1": 2, "q2": 2, "q3": 1, "q4": 1, "q5": 0, "q6": 1, "q7": 1, "q8": 0, "q9": 0}

PEOPLE = {
    "zephyrine": {"legal_given_name": "Zephyrine", "legal_family_name": "Quillfeather",
                  "date_of_birth": date(1931, 2, 14), "sex_at_birth": "female", "phone": "303-555-0147",
                  "email": "zephyrine.q@example.org", "address_line1": "4417 Marigold Lane", "city": "Thornbury",
                  "postal_code": "80917", "allergies": "Penicillin rash per Dr Vantablack",
                  "escort_name": "Oswin Brackenridge", "escort_phone": "720-555-0199"},
    "bartholomew": {"legal_given_name": "Bartholomew", "legal_family_name": "Xylander",
                    "date_of_birth": date(1979, 11, 3), "sex_at_birth": "male", "phone": "719-555-0123",
                    "email": "bart.xylander@example.net", "preferred_name": "Barty"},
    "cordelia": {"legal_given_name": "Cordelia", "legal_family_name": "Wraithmoor",  # refused
                 "date_of_birth": date(1990, 6, 30), "sex_at_birth": "intersex", "phone": "970-555-0161"},
    "dashiell": {"legal_given_name": "Dashiell", "legal_family_name": "Umberfolk",  # gave, then withdrew
                 "date_of_birth": date(1968, 9, 9), "sex_at_birth": "male", "email": "dash@umberfolk.example"},
    "elowen": {"legal_given_name": "Elowen", "legal_family_name": "Strazzabosco",  # never asked
               "date_of_birth": date(2001, 1, 21), "sex_at_birth": "female"},
}
NOTES = ["Quillfeather family history of bipolar", "Signed by Zephyrine at the desk", "Xylander felt queasy",
         "Withdrawn by phone, Umberfolk"]
FORMATS = ["%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y/%m/%d", "%B %d, %Y",
           "%d %B %Y", "%b %d, %Y", "%d %b %Y", "%Y-%m-%dT"]


def consent(staff, patient, decision, note=""):
    return record_research_consent(actor=actor(staff["front_desk"]), patient=patient,
                                   data={"decision": decision, "how": "paper", "note": note})


@pytest.fixture
def world(clinic, staff, make_patient):
    """Five patients with histories; two consented (Zephyrine, Bartholomew)."""
    rooms = make_rooms(clinic, staff["clinic_admin"])
    # today's session began three hours ago: now is a time the clinic booked it then (the clock may move on to one)
    started_today = clinic_open(clinic, minutes=template_minutes(clinic), minutes_ago=180)
    people = {key: make_patient(**data) for key, data in PEOPLE.items()}
    z, b = people["zephyrine"], people["bartholomew"]
    patients.add_diagnosis(actor=actor(staff["prescriber"]), patient=z, code="F31.81", note=NOTES[0])
    patients.add_diagnosis(actor=actor(staff["prescriber"]), patient=b, code="F33.2")
    # Zephyrine: three IV sessions 15 and 10 clinic days ago and today; a PHQ-9 the day after the first
    first = dosed_session(z, staff, start=open_day(clinic, -15), rooms=rooms)
    dosed_session(z, staff, order=first.order, start=open_day(clinic, -10), rooms=rooms)
    today = dosed_session(z, staff, order=first.order, start=started_today, rooms=rooms, end="stopped")
    treatments.add_adverse_event(actor=actor(staff["nurse"]), session=today,
                                 data={"kind": "nausea", "severity": "mild", "description": NOTES[2]})
    measures.record_administration(actor=actor(staff["nurse"]), patient=z, scale="phq9", answers=PHQ9,
                                   administered_at=first.scheduled_start + timedelta(days=1))
    # Bartholomew: one session 7 clinic days ago, signed with a summary naming him
    dosed_session(b, staff, start=open_day(clinic, -7, at=time(8, 0)), rooms=rooms, end="signed")
    # the others have sessions too, so their absence is the consent's doing
    dosed_session(people["cordelia"], staff, start=open_day(clinic, -6), rooms=rooms)
    dosed_session(people["dashiell"], staff, start=open_day(clinic, -5), rooms=rooms)
    dosed_session(people["elowen"], staff, start=open_day(clinic, -4), rooms=rooms)
    consent(staff, z, "given", NOTES[1])
    consent(staff, b, "given")
    consent(staff, people["cordelia"], "refused")
    consent(staff, people["dashiell"], "given")
    consent(staff, people["dashiell"], "withdrawn", NOTES[3])
    return people


@pytest.fixture
def exported(world, clinic):
    buf = io.BytesIO()
    with override_settings(RESEARCH_DATE_SHIFT_MIN_DAYS=60, RESEARCH_DATE_SHIFT_MAX_DAYS=400), \
            back_at(timezone.now() + LATER):
        summary = write_export(clinic, buf)
    raw = buf.getvalue()
    files = {name: zipfile.ZipFile(io.BytesIO(raw)).read(name) for name in zipfile.ZipFile(io.BytesIO(raw)).namelist()}
    return raw, files, summary


def rows(files, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files[name].decode())))


def real_days(world, staff) -> set[date]:
    """Every real calendar day the export's source rows hold (and the days around them), and today."""
    tz = timezone.get_current_timezone()
    moments: list[datetime] = []
    for s in TreatmentSession.objects.all():
        moments += [m for m in (s.scheduled_start, s.dose_started_at, s.dose_ended_at, s.discharged_at,
                                s.created_at, s.checked_in_at) if m]
    moments += [a.administered_at for a in Administration.objects.all()]
    moments += [e.onset_at for e in AdverseEvent.objects.all()]
    moments += [c.recorded_at for c in ResearchConsent.objects.all()]
    moments += [p.created_at for p in world.values()]
    days = {timezone.localtime(m, tz).date() for m in moments} | {timezone.localdate()}
    days |= {p.date_of_birth for p in world.values()}
    # the days between the earliest and the latest event, so a date nobody wrote down cannot slip by either
    lo, hi = min(d for d in days if d.year > 2020), max(days)
    days |= {lo + timedelta(days=n) for n in range((hi - lo).days + 1)}
    export_day = timezone.localdate() + LATER  # the day the export was made, and the days around it
    return days | {export_day + timedelta(days=n) for n in range(-3, 4)}


def identifiers(world, staff, clinic) -> set[str]:
    found = {clinic.name, str(clinic.external_id), clinic.external_id.hex}
    for p in world.values():
        p.refresh_from_db()
        found |= {p.mrn, str(p.external_id), p.external_id.hex, p.legal_given_name, p.legal_family_name}
        for name in ("preferred_name", "phone", "email", "address_line1", "city", "postal_code", "allergies",
                     "escort_name", "escort_phone"):
            value = getattr(p, name)
            if value:
                found.add(value)
                if name.endswith("phone"):
                    found.add(value.replace("-", ""))
    for model in (TreatmentSession, Administration):
        for ext in model.objects.values_list("external_id", flat=True):
            found |= {str(ext), ext.hex}
    for user in staff.values():
        found |= {user.get_full_name(), user.label, str(user.external_id), user.external_id.hex}
    return found | set(NOTES)


@pytest.mark.django_db
def test_no_identifier_appears_in_any_byte_of_the_export(world, staff, clinic, exported):
    raw, files, _ = exported
    assert set(files) == {"README.txt", "patients.csv", "sessions.csv", "scales.csv", "adverse_events.csv",
                          "summary.csv"}
    blobs = {"the ZIP itself": raw.lower(), **{name: body.lower() for name, body in files.items()}}
    for needle in identifiers(world, staff, clinic):
        for where, blob in blobs.items():
            assert needle.lower().encode() not in blob, f"{needle!r} found in {where}"


@pytest.mark.django_db
def test_no_real_date_appears_in_any_format(world, staff, exported):
    raw, files, _ = exported
    blobs = {"the ZIP itself": raw.lower(), **{name: body.lower() for name, body in files.items()}}
    days = real_days(world, staff)
    # the days searched for hold every session's real day, a birth date, and the whole span of the history
    tz = timezone.get_current_timezone()
    sessions = {timezone.localtime(s.dose_started_at, tz).date() for s in TreatmentSession.objects.all()}
    assert len(sessions) >= 5 and sessions <= days and date(1931, 2, 14) in days
    assert all(min(sessions) + timedelta(days=n) in days for n in range((max(sessions) - min(sessions)).days + 1))
    for day in days:
        for fmt in FORMATS:
            needle = day.strftime(fmt).lower().encode()
            for where, blob in blobs.items():
                assert needle not in blob, f"real date {day} as {needle!r} found in {where}"
    # the shifted dates are there, as dates
    assert all(date.fromisoformat(r["shifted_date"]) for r in rows(files, "sessions.csv"))


@pytest.mark.django_db
def test_one_patients_dates_keep_their_intervals(world, exported):
    _, files, _ = exported
    sessions = rows(files, "sessions.csv")
    by_patient: dict[str, list[date]] = {}
    for r in sessions:
        by_patient.setdefault(r["research_id"], []).append(date.fromisoformat(r["shifted_date"]))
    (zeph,) = [rid for rid, days in by_patient.items() if len(days) == 3]
    first, second, third = sorted(by_patient[zeph])
    # the real days, in the clinic: 21 and 14 days ago and a few hours ago (yesterday, at 01:30 in the morning)
    tz = timezone.get_current_timezone()
    real = sorted(timezone.localtime(s.dose_started_at, tz).date()
                  for s in TreatmentSession.objects.filter(patient=world["zephyrine"]))
    assert (second - first).days == (real[1] - real[0]).days == 7
    assert (third - first).days == (real[2] - real[0]).days in (20, 21)
    (scale,) = [r for r in rows(files, "scales.csv") if r["research_id"] == zeph]
    assert (date.fromisoformat(scale["shifted_date"]) - first).days == 1
    assert scale["scale"] == "phq9" and scale["total"] == "8"
    (event,) = rows(files, "adverse_events.csv")
    (onset,) = AdverseEvent.objects.values_list("onset_at", flat=True)  # when it was recorded: today
    assert event["research_id"] == zeph
    assert (date.fromisoformat(event["shifted_date"]) - first).days == (timezone.localtime(onset, tz).date()
                                                                        - real[0]).days
    assert (event["kind"], event["severity"]) == ("nausea", "mild")
    # the shift itself is at least the minimum set, and another patient's shift is drawn apart from it
    assert 60 <= abs((first - real[0]).days) <= 400


@pytest.mark.django_db
def test_only_patients_whose_latest_decision_is_given_are_exported(exported):
    _, files, summary = exported
    people = rows(files, "patients.csv")
    assert len(people) == 2 and summary["patients"] == 2
    # two patients, each alone in their combination: k-anonymity (k = 11) blanks all but the first route
    assert [(p["diagnosis_group"], p["age_band_at_first_session"], p["sex_at_birth"], p["first_route"])
            for p in people] == [("suppressed", "suppressed", "suppressed", "iv")] * 2
    assert [p["research_id"] for p in people] == sorted(p["research_id"] for p in people)
    ids = {p["research_id"] for p in people}
    sessions = rows(files, "sessions.csv")
    assert len(sessions) == 4 and {s["research_id"] for s in sessions} == ids
    assert {s["route"] for s in sessions} == {"iv"}
    # IV ketamine: the dose per kg only (with the mg it gave the weight); two patients, fewer than k = 11: suppressed
    assert {(s["dose_mg"], s["dose_mg_per_kg"]) for s in sessions} == {("", "suppressed")}
    assert sum(int(s["adverse_events"]) for s in sessions) == 1


@pytest.mark.django_db
def test_research_ids_and_shifts_are_drawn_anew_for_each_export(world, clinic):
    exports = []
    for _ in range(2):
        buf = io.BytesIO()
        write_export(clinic, buf)
        files = zipfile.ZipFile(buf)
        exports.append(({r["research_id"] for r in csv.DictReader(io.StringIO(files.read("patients.csv").decode()))},
                        files.read("sessions.csv")))
    assert not exports[0][0] & exports[1][0]


def test_ages_of_90_and_over_are_one_band():
    on = date(2026, 6, 17)
    assert age_band(date(1936, 6, 17), on) == "90+"
    assert age_band(date(1936, 6, 18), on) == "80-89"
    assert age_band(date(1900, 1, 1), on) == "90+"
    assert age_band(date(2000, 1, 1), on) == "18-29"
    assert age_band(date(2010, 1, 1), on) == "under 18"
