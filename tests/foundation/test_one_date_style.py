"""Dates and times in one style on every page (ketaclinic/clinic/formats): 2026-12-01, 14:05, 2026-12-01 14:05,
with the weekday where a schedule needs it, always in the clinic's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic import formats
from ketaclinic.clinic.services import update_clinic
from tests.factories import actor

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FILTER = re.compile(r"\|(date|time):([\"'])(.*?)\2")
#: Edited concurrently at the time of writing; its heading moves to "l Y-m-d" (the convention's page heading).
PENDING: set[str] = set()


def test_every_template_formats_dates_and_times_in_the_clinic_style():
    outliers = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = str(path.relative_to(TEMPLATES))
        if name in PENDING:
            continue
        outliers += [f"{name}: {m.group(3)}" for m in FILTER.finditer(path.read_text())
                     if m.group(3) not in formats.TEMPLATE_FORMATS]
    assert not outliers


def test_a_bare_date_time_or_datetime_renders_in_the_clinic_style_and_time_zone():
    moment = datetime(2026, 12, 1, 21, 5, tzinfo=UTC)
    with timezone.override("America/Denver"):  # the clinic's zone, as the middleware activates it
        text = Template("{{ d|date }} · {{ m|time }} · {{ m }} · {{ m|date:'DATETIME_FORMAT' }}").render(
            Context({"d": date(2026, 12, 1), "m": moment}))
    assert text == "2026-12-01 · 14:05 · 2026-12-01 14:05 · 2026-12-01 14:05"


def test_the_audit_log_shows_when_a_patient_was_registered_in_the_clinics_time_zone(clinic, staff, client_for,
                                                                                     make_patient):
    update_clinic(actor=actor(staff["clinic_admin"]), clinic=clinic, data={"time_zone": "Pacific/Honolulu"})
    make_patient()
    at = AuditEntry.objects.get(action="patient.registered").at
    body = client_for("compliance").get(reverse("audit:search")).content.decode()
    assert f"{timezone.localtime(at, ZoneInfo('Pacific/Honolulu')):%Y-%m-%d %H:%M:%S}" in body  # UTC-10, no DST
    assert f"{timezone.localtime(at, UTC):%Y-%m-%d %H:%M:%S}" not in body
