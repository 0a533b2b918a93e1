"""The de-identified research export: a ZIP of CSV files about the patients who consented to research use.

What goes in (README.txt inside the ZIP says the same to the researcher):

* ``patients.csv``: a research id drawn at random for this export, the diagnosis group, the age band at the first
  dosing session (10-year bands; every age from 90 on is the single band "90+", as HIPAA Safe Harbor requires,
  45 CFR 164.514(b)(2)(i)(C)) and sex at birth.
* ``sessions.csv``: route, drug, the dose given in mg and in mg/kg (of the weight confirmed that day), the shifted
  day, the session's status, and its count of adverse events (all, and severe).
* ``scales.csv``: scale, shifted day, total, timing (baseline, pre-dose, 24 h, 7 days, ...).
* ``adverse_events.csv``: kind, severity, shifted day.
* ``summary.csv``: patients by diagnosis group and the route of their first dosing session, with row and column
  totals; a count from 1 to ``RESEARCH_SUPPRESS_BELOW - 1`` is not shown (CMS Cell Size Suppression Policy: no
  cell of 1 to 10 beneficiaries is published, so the default threshold is 11), and enough further cells are
  blanked (complementary suppression) that no blanked count can be worked out from the totals.

Only patients whose latest research consent decision (``ResearchConsent``) is "given" when the export starts are
in it. No direct identifier leaves: no name, MRN, external id, date of birth, address, phone, e-mail, free text,
database id or staff name. Every date is shifted by a whole number of days drawn with ``secrets`` for each
patient and each export (the same shift for all of one patient's dates, so intervals between them are kept;
never derived from an id), with a magnitude from ``RESEARCH_DATE_SHIFT_MIN_DAYS`` (default 14) to
``RESEARCH_DATE_SHIFT_MAX_DAYS`` (default 182) days, earlier or later at random; times of day are dropped. The
shifts and research ids are kept nowhere: the export cannot be linked back to the chart, even by the clinic.

Shifted dates are not Safe Harbor de-identification (Safe Harbor removes every date element but the year): this is
a pseudonymised set for a researcher working under an IRB protocol or a data use agreement, or for an expert
determination (45 CFR 164.514(b)(1)). The default shift (up to half a year either way, never less than two
weeks) makes a shifted day useless for matching one known visit to a row, and keeps every interval exact (time to
loss of response, days between sessions), which is what the outcome questions need.

Memory stays constant in the number of rows: every table is read with ``.iterator(chunk_size=CHUNK)`` and
written row by row into a compressed ZIP member. The one thing held per patient is the (research id, shift) pair
of each consented patient, which the export must hold to pseudonymise their rows.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, CharField, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.measures.models import Administration
from ketaclinic.patients.models import Diagnosis, Patient
from ketaclinic.reports.models import ResearchConsent
from ketaclinic.treatments.models import AdverseEvent, TreatmentSession

#: Rows fetched per database round trip while streaming.
CHUNK = 2_000
#: Rows written between two progress updates.
PROGRESS_EVERY = 1_000
#: Defaults of the settings (see the module docstring for why).
SHIFT_MIN_DAYS = 14
SHIFT_MAX_DAYS = 182
#: CMS Cell Size Suppression Policy (CMS, "CMS Cell Size Suppression Policy", 2020; ResDAC): no cell containing a
#: value of 1 to 10 may be displayed; a count below this is not shown.
SUPPRESS_BELOW = 11

#: The diagnosis groups' ICD-10-CM prefixes, in the core's order of priority (ketaclinic.clinical.diagnosis_groups:
#: a patient with several codes is in the first group any of them falls in; anything else is "other").
DIAGNOSIS_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = tuple((g, dg.PREFIXES[g]) for g in dg.PRIORITY)

DOSED = Q(dose_started_at__isnull=False)
FILES = ("patients.csv", "sessions.csv", "scales.csv", "adverse_events.csv", "summary.csv")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's timestamp: the ZIP holds no real date, not even its own


def shift_range() -> tuple[int, int]:
    lo = int(getattr(settings, "RESEARCH_DATE_SHIFT_MIN_DAYS", SHIFT_MIN_DAYS))
    hi = int(getattr(settings, "RESEARCH_DATE_SHIFT_MAX_DAYS", SHIFT_MAX_DAYS))
    if not 1 <= lo <= hi:
        raise ImproperlyConfigured("RESEARCH_DATE_SHIFT_MIN_DAYS must be at least 1 and at most "
                                   "RESEARCH_DATE_SHIFT_MAX_DAYS: a shift of 0 days would leave real dates.")
    return lo, hi


def suppress_below() -> int:
    value = int(getattr(settings, "RESEARCH_SUPPRESS_BELOW", SUPPRESS_BELOW))
    if value < 2:
        raise ImproperlyConfigured("RESEARCH_SUPPRESS_BELOW must be at least 2 (CMS policy: 11).")
    return value


# ------------------------------------------------------------------------------------------ who and what is in it
def latest_decision(patient_ref="pk"):
    """The patient's latest research consent decision (a subquery; NULL when none was ever recorded)."""
    return Subquery(ResearchConsent.objects.filter(patient=OuterRef(patient_ref)).order_by(
        "-recorded_at", "-pk").values("decision")[:1])


def consented_patients(clinic):
    """The clinic's patients whose latest decision is "given" (a queryset: evaluated in the database)."""
    return (Patient.objects.filter(clinic=clinic).annotate(research_decision=latest_decision())
            .filter(research_decision=ResearchConsent.Decision.GIVEN))


def _group_case(field: str = "code"):
    return Case(*(When(**{f"{field}__startswith": prefix}, then=Value(group))
                  for group, prefixes in DIAGNOSIS_PREFIXES for prefix in prefixes),
                default=Value(dg.OTHER), output_field=CharField())


def _group_rank(field: str = "code"):
    return Case(*(When(**{f"{field}__startswith": prefix}, then=Value(rank))
                  for rank, (_, prefixes) in enumerate(DIAGNOSIS_PREFIXES) for prefix in prefixes),
                default=Value(len(DIAGNOSIS_PREFIXES)), output_field=IntegerField())


def diagnosis_group(patient_ref="pk"):
    """The patient's diagnosis group from their chart's diagnoses (entered-in-error ones left out)."""
    first = (Diagnosis.objects.filter(patient=OuterRef(patient_ref))
             .exclude(status=Diagnosis.Status.ENTERED_IN_ERROR)
             .annotate(group=_group_case(), rank=_group_rank()).order_by("rank", "pk").values("group")[:1])
    return Coalesce(Subquery(first), Value(dg.OTHER), output_field=CharField())


def _first_dosed(patient_ref: str, field: str):
    return Subquery(TreatmentSession.objects.filter(DOSED, patient=OuterRef(patient_ref)).order_by(
        "dose_started_at", "pk").values(field)[:1])


def age_band(born: date, on: date) -> str:
    """Ten-year bands; 90 and over is one band, "90+" (45 CFR 164.514(b)(2)(i)(C))."""
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age >= 90:
        return "90+"
    if age < 18:
        return "under 18"
    if age < 30:
        return "18-29"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


# ---------------------------------------------------------------------------------------------- the suppression
def suppress(counts: dict[tuple[str, str], int], rows: list[str], cols: list[str], threshold: int,
             total: str = "all") -> dict[tuple[str, str], tuple[int, str]]:
    """A two-way table of counts with its margins, and which cells are blanked.

    Returns ``{(row, col): (count, marker)}`` for every cell including the row totals (col ``total``), the column
    totals (row ``total``) and the grand total; marker is "" (shown), "small" (1 to threshold - 1: primary
    suppression) or "complementary" (blanked so that a small cell cannot be recovered by subtraction). Every line
    (a row with its total, a column with its total, the margins with the grand total) that has a blanked cell gets
    at least two, the second being the smallest count left in the line (a total only when no cell is left)."""
    table: dict[tuple[str, str], int] = {}
    for r in rows:
        for c in cols:
            table[(r, c)] = counts.get((r, c), 0)
        table[(r, total)] = sum(table[(r, c)] for c in cols)
    for c in [*cols, total]:
        table[(total, c)] = sum(table[(r, c)] for r in rows)
    marker = {key: ("small" if 0 < value < threshold else "") for key, value in table.items()}
    lines = ([[(r, c) for c in cols] + [(r, total)] for r in [*rows, total]]
             + [[(r, c) for r in rows] + [(total, c)] for c in [*cols, total]])
    changed = True
    while changed:
        changed = False
        for line in lines:
            blanked = [key for key in line if marker[key]]
            if len(blanked) != 1:
                continue
            cells, line_total = [k for k in line[:-1] if not marker[k]], line[-1]
            positive = sorted((k for k in cells if table[k] > 0), key=lambda k: (table[k], k))
            if positive:
                pick = positive[0]
            elif not marker[line_total]:
                pick = line_total
            else:
                pick = cells[0] if cells else None
            if pick is not None:
                marker[pick] = "complementary"
                changed = True
    return {key: (table[key], marker[key]) for key in table}


# ------------------------------------------------------------------------------------------------- the writing
class _Zip:
    """CSV members written one row at a time into a deflated ZIP (every member stamped 1980-01-01)."""

    def __init__(self, out: IO[bytes]):
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)

    def member(self, name: str):
        info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return io.TextIOWrapper(self.zip.open(info, "w", force_zip64=True), encoding="utf-8", newline="")

    def close(self) -> None:
        self.zip.close()


class _Progress:
    def __init__(self, total: int, report: Callable[[int, int], None]):
        self.total, self.done, self.report = total, 0, report

    def step(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.report(self.done, self.total)


def _mg_per_kg(mg: Decimal | None, kg: Decimal | None) -> str:
    if mg is None or not kg:
        return ""
    return str((mg / kg).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _draw_pseudonyms(patient_ids: Iterable[int], lo: int, hi: int) -> dict[int, tuple[str, int]]:
    """Each patient's research id (random, unique in this export) and date shift in days (random magnitude in
    [lo, hi], random direction), drawn from the operating system's CSPRNG; nothing is derived from the ids."""
    rng = secrets.SystemRandom()
    out: dict[int, tuple[str, int]] = {}
    used: set[str] = set()
    for pk in patient_ids:
        rid = f"R{secrets.token_hex(5)}"
        while rid in used:
            rid = f"R{secrets.token_hex(5)}"
        used.add(rid)
        out[pk] = (rid, rng.randint(lo, hi) * rng.choice((-1, 1)))
    return out


README = """De-identified research export (KetaClinic)

Patients: those whose latest research consent decision was "given" when this export was made.
research_id: drawn at random for this export only; the same patient has another id in another export.
Dates: every date of one patient is shifted by the same random number of whole days ({lo} to {hi} days, earlier
or later, drawn anew for each patient and each export); intervals between one patient's dates are exact, the
calendar days are not real. Times of day are removed.
Ages: ten-year bands at the first dosing session; 90 and over is "90+" (45 CFR 164.514(b)(2)(i)(C)).
Doses: mg as given; mg/kg of the weight confirmed on the day of the session.
summary.csv: patients by diagnosis group and the route of their first dosing session. A count from 1 to {small}
is not shown (CMS Cell Size Suppression Policy); "small" marks it, and "complementary" marks a further count
blanked so that a small one cannot be worked out from the totals.
No names, record numbers, identifiers, birth dates, contact details, free text or staff names are included.
"""


def write_export(clinic, out: IO[bytes], progress: Callable[[int, int], None] = lambda done, total: None) -> dict:
    """Write the export of ``clinic`` as a ZIP into ``out``; returns what it holds (counts only, no identifier)."""
    lo, hi = shift_range()
    threshold = suppress_below()
    tz = clinic.tz

    def day(moment: datetime | None, shift: int) -> str:
        """The clinic-local day of ``moment`` moved by ``shift`` days, as YYYY-MM-DD (the time of day dropped)."""
        if moment is None:
            return ""
        return date.fromordinal(timezone.localtime(moment, tz).date().toordinal() + shift).isoformat()

    consented = consented_patients(clinic)
    ids = consented.values("pk")
    pseudonyms = _draw_pseudonyms(consented.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK),
                                  lo, hi)
    sessions = TreatmentSession.objects.filter(patient_id__in=ids)
    scales = (Administration.objects.filter(patient_id__in=ids, replaced_by__isnull=True, status__in=(
        Administration.Status.FINAL, Administration.Status.AMENDED)))
    events = AdverseEvent.objects.filter(session__patient_id__in=ids)
    tally = _Progress(len(pseudonyms) + sessions.count() + scales.count() + events.count() + 1, progress)
    counts = {"patients": 0, "sessions": 0, "scales": 0, "adverse_events": 0}
    archive = _Zip(out)
    try:
        with archive.member("README.txt") as f:
            f.write(README.format(lo=lo, hi=hi, small=threshold - 1))

        with archive.member("patients.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "diagnosis_group", "age_band_at_first_session", "sex_at_birth"])
            rows = (consented.annotate(group=diagnosis_group(), first=_first_dosed("pk", "dose_started_at"))
                    .order_by("pk").values_list("pk", "date_of_birth", "sex_at_birth", "group", "first"))
            for pk, born, sex, group, first in rows.iterator(chunk_size=CHUNK):
                if pk not in pseudonyms:  # consented after the export began: not in it
                    continue
                band = age_band(born, timezone.localtime(first, tz).date()) if first else ""
                w.writerow([pseudonyms[pk][0], group, band, sex])
                counts["patients"] += 1
                tally.step()

        with archive.member("sessions.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "session_in_series", "route", "drug", "dose_mg", "dose_mg_per_kg",
                        "shifted_date", "status", "adverse_events", "severe_adverse_events"])
            rows = (sessions.annotate(ae=Count("adverse_events"), ae_severe=Count(
                "adverse_events", filter=Q(adverse_events__severity=AdverseEvent.Severity.SEVERE)))
                .order_by("patient_id", "scheduled_start", "pk")
                .values_list("patient_id", "sequence", "route", "drug", "administered_mg", "verified_weight_kg",
                             "weight_kg", "dose_started_at", "scheduled_start", "status", "ae", "ae_severe"))
            for (pid, seq, route, drug, mg, verified_kg, kg, started, scheduled, status, ae,
                 severe) in rows.iterator(chunk_size=CHUNK):
                if pid not in pseudonyms:
                    continue
                rid, shift = pseudonyms[pid]
                w.writerow([rid, seq, route, drug, "" if mg is None else str(mg), _mg_per_kg(mg, verified_kg or kg),
                            day(started or scheduled, shift), status, ae, severe])
                counts["sessions"] += 1
                tally.step()

        with archive.member("scales.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "scale", "shifted_date", "total", "timing"])
            rows = scales.order_by("patient_id", "administered_at", "pk").values_list(
                "patient_id", "scale", "administered_at", "total", "timing")
            for pid, scale, at, total, timing in rows.iterator(chunk_size=CHUNK):
                if pid not in pseudonyms:
                    continue
                rid, shift = pseudonyms[pid]
                w.writerow([rid, scale, day(at, shift), "" if total is None else total, timing])
                counts["scales"] += 1
                tally.step()

        with archive.member("adverse_events.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "kind", "severity", "shifted_date"])
            rows = events.order_by("session__patient_id", "onset_at", "pk").values_list(
                "session__patient_id", "kind", "severity", "onset_at")
            for pid, kind, severity, onset in rows.iterator(chunk_size=CHUNK):
                if pid not in pseudonyms:
                    continue
                rid, shift = pseudonyms[pid]
                w.writerow([rid, kind, severity, day(onset, shift)])
                counts["adverse_events"] += 1
                tally.step()

        summary = summary_table(clinic, threshold)
        with archive.member("summary.csv") as f:
            w = csv.writer(f)
            w.writerow(["diagnosis_group", "first_route", "patients", "suppressed"])
            for (group, route), (value, marker) in summary.items():
                w.writerow([group, route, "" if marker else value, marker])
        tally.step()
    finally:
        archive.close()
    progress(tally.total, tally.total)
    markers = [m for _, m in summary.values()]
    return {**counts, "cells_suppressed_small": markers.count("small"),
            "cells_suppressed_complementary": markers.count("complementary"),
            "shift_days": [lo, hi], "suppress_below": threshold}


def summary_table(clinic, threshold: int) -> dict[tuple[str, str], tuple[int, str]]:
    """Consented patients with a dosing session, by diagnosis group and the route of their first dosing session,
    counted in the database (one GROUP BY), suppressed by :func:`suppress`."""
    from ketaclinic.reports.base import DIAGNOSIS_GROUPS
    from ketaclinic.treatments.models import Route

    grouped = (consented_patients(clinic).annotate(group=diagnosis_group(),
                                                   first_route=_first_dosed("pk", "route"))
               .filter(first_route__isnull=False).values("group", "first_route").annotate(n=Count("pk"))
               .order_by())
    counts = {(row["group"], row["first_route"]): row["n"] for row in grouped}
    return suppress(counts, list(DIAGNOSIS_GROUPS), [value for value, _ in Route.choices], threshold)


# ------------------------------------------------------------------------------------------ the consent use case
class ConsentError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def current_decision(patient) -> ResearchConsent | None:
    """The patient's latest decision (their current one), or None if none was ever recorded."""
    return patient.research_consents.order_by("-recorded_at", "-pk").first()


def record_research_consent(*, actor, patient, data) -> ResearchConsent:
    """Record a patient's decision about research use of their de-identified data: given, refused, or a
    withdrawal of consent given earlier. Validates (a known decision and way; a withdrawal only of consent in
    force), appends a row (never changes one) and audits ``research.consent.recorded``, in one transaction."""
    from django.db import transaction

    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.services import record

    decision, how, note = data.get("decision"), data.get("how"), (data.get("note") or "").strip()
    errors = {}
    if decision not in ResearchConsent.Decision.values:
        errors["decision"] = "Choose given, refused or withdrawn."
    if how not in ResearchConsent.How.values:
        errors["how"] = "Say how the patient gave their decision: paper form, verbally or in the portal."
    if len(note) > 300:
        errors["note"] = "Keep the note to 300 characters."
    if errors:
        raise ConsentError(errors)
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one decision at a time per patient
        latest = current_decision(patient)
        if decision == ResearchConsent.Decision.WITHDRAWN and (
                latest is None or latest.decision != ResearchConsent.Decision.GIVEN):
            raise ConsentError({"decision": "There is no consent in force to withdraw; record a refusal instead."})
        row = ResearchConsent.objects.create(patient=patient, decision=decision, how=how, note=note,
                                             recorded_by=actor.user)
        record(actor, AuditAction.RESEARCH_CONSENT_RECORDED, subject=row, patient=patient,
               details={"decision": decision, "how": how,
                        "previous": latest.decision if latest is not None else None})
    return row
