"""The de-identified research export: a ZIP of CSV files about the patients who consented to research use.

What goes in (README.txt inside the ZIP says the same to the researcher):

* ``patients.csv``: a research id drawn at random for this export, the diagnosis group, the age band at the first
  dosing session (10-year bands; every age from 90 on is the single band "90+", as HIPAA Safe Harbor requires,
  45 CFR 164.514(b)(2)(i)(C)), sex at birth and the route of the first dosing session; generalised so that every
  combination of these four is shared by at least ``RESEARCH_SUPPRESS_BELOW`` patients (k-anonymity), or has
  every field but the route blanked ("suppressed"): see :func:`generalise`.
* ``sessions.csv``: route, drug, the dose given (racemic ketamine in mg/kg of the weight confirmed that day, to
  0.05; esketamine in mg; never both, which would give the weight), rare doses merged with their neighbours
  (:func:`dose_codes`), the shifted day, the session's status, and its count of adverse events (all, and severe); only sessions that happened
  (a dose started, or discharged or transferred), never a booked, future or cancelled one.
* ``scales.csv``: scale, shifted day, total, timing (baseline, pre-dose, 24 h, 7 days, ...).
* ``adverse_events.csv``: kind, severity, shifted day.
* ``summary.csv``: patients by diagnosis group and the route of their first dosing session, counted from the
  published (generalised) rows of ``patients.csv``, with row and column totals; a count from 1 to
  ``RESEARCH_SUPPRESS_BELOW - 1`` is not shown (CMS Cell Size Suppression Policy: no cell of 1 to 10
  beneficiaries is published, so the default threshold is 11), and further cells are blanked until, for every
  blank cell, the values consistent with the published table (its totals, counts non-negative) span at least
  the threshold (checked exactly by linear programming: see :func:`suppress`).

The patient set is fixed once, at the start (``ResearchExportMember`` rows, deleted at the end): only patients
whose latest research consent decision (``ResearchConsent``) is "given" then are in it, in every file and the
summary. No direct identifier leaves: no name, MRN, external id, date of birth, address, phone, e-mail, free
text, database id or staff name. Every file is in research-id order (random), never in database-id order.

Dates: every date of one patient is shifted by a whole number of WEEKS (so the weekday is kept and the shift
modulo 7 tells nothing) drawn with ``secrets`` for each patient and each export (the same shift for all of one
patient's dates, so intervals are kept; never derived from an id), with a magnitude from
``RESEARCH_DATE_SHIFT_MIN_DAYS`` (default 14) to ``RESEARCH_DATE_SHIFT_MAX_DAYS`` (default 182) days rounded
inwards to whole weeks, earlier or later at random; times of day are dropped. The shifts and research ids are
kept nowhere: the export cannot be linked back to the chart, even by the clinic.

The common cutoff: every row whose SHIFTED day is after ``cutoff = today - max shift`` is left out, for every
patient alike. Why on the shifted calendar: a patient still in treatment has rows up to about the real today; had
the rows been cut on the real calendar (at today, or at any known real day C), the last shifted day of such a
patient would be C + shift, which gives the shift away. Cut at one shifted day for everyone, an active patient's
rows end at the cutoff whatever their shift, and a row's real day (shifted day - shift <= cutoff + max shift =
today) is always in the past, so "nothing after today" bounds no shift either. The export day is not in the file
name, and the cutoff day is the only calendar anchor the researcher gets (README.txt).

Shifted dates are not Safe Harbor de-identification (Safe Harbor removes every date element but the year): this is
a pseudonymised set for a researcher working under an IRB protocol or a data use agreement, or for an expert
determination (45 CFR 164.514(b)(1)).

Memory stays constant in the number of rows: every table is read with ``.iterator(chunk_size=CHUNK)`` and
written row by row into a compressed ZIP member. What is held per patient is a small tuple for each consented
patient (research id, shift, the four quasi-identifiers), which the export must hold to pseudonymise and
generalise.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
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
from ketaclinic.reports.models import ResearchConsent, ResearchExportMember
from ketaclinic.treatments.models import AdverseEvent, Drug, TreatmentSession

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
#: What a blanked quasi-identifier reads in patients.csv, and its row in summary.csv.
SUPPRESSED = "suppressed"
#: How doses are published in sessions.csv (a privacy choice, not a clinical one). Published together, a dose in mg
#: divided by the dose per kg gives the patient's weight, so each drug's dose is published in one unit only: racemic
#: ketamine as mg per kg of the day's weight (its dosing unit), to this step; esketamine in mg (a fixed dose in
#: 28 mg devices, whose mg per kg would give the weight).
DOSE_PER_KG_STEP = Decimal("0.05")

#: The diagnosis groups' ICD-10-CM prefixes, in the core's order of priority (ketaclinic.clinical.diagnosis_groups:
#: a patient with several codes is in the first group any of them falls in; anything else is "other").
DIAGNOSIS_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = tuple((g, dg.PREFIXES[g]) for g in dg.PRIORITY)

DOSED = Q(dose_started_at__isnull=False)
FILES = ("patients.csv", "sessions.csv", "scales.csv", "adverse_events.csv", "summary.csv")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's timestamp: the ZIP holds no real date, not even its own


def shift_range() -> tuple[int, int]:
    """The smallest and largest shift magnitude in days, both whole weeks (the settings rounded inwards)."""
    lo = int(getattr(settings, "RESEARCH_DATE_SHIFT_MIN_DAYS", SHIFT_MIN_DAYS))
    hi = int(getattr(settings, "RESEARCH_DATE_SHIFT_MAX_DAYS", SHIFT_MAX_DAYS))
    weeks_lo, weeks_hi = max(1, -(-lo // 7)), hi // 7
    if not 1 <= lo <= hi or weeks_lo > weeks_hi:
        raise ImproperlyConfigured("RESEARCH_DATE_SHIFT_MIN_DAYS must be at least 1 and at most "
                                   "RESEARCH_DATE_SHIFT_MAX_DAYS, with a whole number of weeks (7 days) between "
                                   "them: dates are shifted by whole weeks, and a shift of 0 would leave real dates.")
    return weeks_lo * 7, weeks_hi * 7


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
Key = tuple[str, str]


def _lines(rows: list[str], cols: list[str], total: str) -> list[list[Key]]:
    """Every line of the table, its total last: each row with its row total, each column with its column total,
    and the margins with the grand total."""
    return ([[(r, c) for c in cols] + [(r, total)] for r in [*rows, total]]
            + [[(r, c) for r in rows] + [(total, c)] for c in [*cols, total]])


def blank_range(table: dict[Key, int], blank: set[Key], lines: list[list[Key]], key: Key) -> tuple[float, float]:
    """The least and the greatest value the blank cell ``key`` can take in a table that agrees with every shown
    count and every line's sum, all counts non-negative (``inf`` when unbounded).

    Solved as two linear programmes (scipy's HiGHS). A two-way table with its margins is a network flow (source ->
    row totals -> cells -> column totals -> sink, the grand total closing the loop), so its constraint matrix is
    totally unimodular and the LP optimum is an integer: the bounds are exact for integer counts too."""
    from scipy.optimize import linprog

    keys = sorted(blank)
    at = {k: n for n, k in enumerate(keys)}
    a_eq, b_eq = [], []
    for line in lines:
        coefficients, rhs = [0.0] * len(keys), 0
        for k in line[:-1]:
            if k in at:
                coefficients[at[k]] += 1
            else:
                rhs -= table[k]
        if line[-1] in at:
            coefficients[at[line[-1]]] -= 1
        else:
            rhs += table[line[-1]]
        if any(coefficients):
            a_eq.append(coefficients)
            b_eq.append(rhs)
    if not any(row[at[key]] for row in a_eq):  # no line ties it down
        return 0.0, float("inf")
    objective = [0.0] * len(keys)
    objective[at[key]] = -1.0
    high = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if high.status != 0:  # 3: unbounded
        return 0.0, float("inf")
    objective[at[key]] = 1.0
    low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    return low.fun, -high.fun


def suppress(counts: dict[Key, int], rows: list[str], cols: list[str], threshold: int,
             total: str = "all") -> dict[Key, tuple[int, str]]:
    """A two-way table of counts with its margins, and which cells are blanked.

    Returns ``{(row, col): (count, marker)}`` for every cell including the row totals (col ``total``), the column
    totals (row ``total``) and the grand total; marker is "" (shown), "small" (1 to threshold - 1: primary
    suppression) or "complementary" (blanked so that a blank count cannot be worked out).

    First every line with a single blank gets a second (the smallest count left in it); then, as long as some
    blank cell's range of values consistent with the published table (:func:`blank_range`: the totals, counts
    non-negative) is narrower than ``threshold``, the smallest count still shown in that cell's row or column
    (positive counts first, totals last) is blanked too. Blanking everything leaves every range unbounded, so
    this ends; each blank cell costs two small LPs per check (the table is at most about 7 x 5)."""
    table: dict[Key, int] = {}
    for r in rows:
        for c in cols:
            table[(r, c)] = counts.get((r, c), 0)
        table[(r, total)] = sum(table[(r, c)] for c in cols)
    for c in [*cols, total]:
        table[(total, c)] = sum(table[(r, c)] for r in rows)
    marker = {key: ("small" if 0 < value < threshold else "") for key, value in table.items()}
    lines = _lines(rows, cols, total)
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

    def is_total(key: Key) -> bool:
        return total in key

    # Blanking one more cell frees one more value, so a range never narrows: a cell found safe stays safe.
    safe: set[Key] = set()
    while True:
        blank = sorted((key for key, m in marker.items() if m and key not in safe),
                       key=lambda k: (marker[k] != "small", table[k], k))
        weak = None
        for key in blank:
            lo, hi = blank_range(table, {k for k, m in marker.items() if m}, lines, key)
            if hi - lo >= threshold - 1e-6:
                safe.add(key)
            else:
                weak = key
                break
        if weak is None:
            break
        near = {k for line in lines if weak in line for k in line if not marker[k]}
        shown = near or {k for k, m in marker.items() if not m}
        if not shown:
            break
        pick = min(shown, key=lambda k: (table[k] == 0, is_total(k), table[k], k))
        marker[pick] = "complementary"
    return {key: (table[key], marker[key]) for key in table}


# ----------------------------------------------------------------------------------------- the generalisation
def generalise(records: list[list[str]], k: int, blankable: tuple[int, ...], fields: tuple[int, ...]) -> int:
    """k-anonymity by local suppression, in place: while some combination of the ``fields`` is shared by fewer than ``k``
    records and still has a field of ``blankable`` shown, each such record has its rarest shown field (the value
    fewest records have in that column; ties: the earlier column) replaced by ``SUPPRESSED``. Ends with every
    combination shared by at least ``k`` records, or with every blankable field blanked. Returns the number of
    fields blanked. (Fields not in ``blankable`` stay: the route of the first session is in sessions.csv anyway.)"""
    blanked = 0
    while True:
        classes = Counter(tuple(r[i] for i in fields) for r in records)
        weak = [r for r in records if classes[tuple(r[i] for i in fields)] < k and any(r[i] != SUPPRESSED for i in blankable)]
        if not weak:
            return blanked
        freq = {i: Counter(r[i] for r in records) for i in blankable}
        for r in weak:
            i = min((i for i in blankable if r[i] != SUPPRESSED), key=lambda i: (freq[i][r[i]], i))
            r[i] = SUPPRESSED
            blanked += 1


def dose_step(mg: Decimal | None, kg: Decimal | None) -> Decimal | None:
    """The dose per kg to the nearest :data:`DOSE_PER_KG_STEP` (0.512 mg/kg: 0.50); None without a dose or weight."""
    if mg is None or mg <= 0 or not kg or kg <= 0:
        return None
    return ((mg / kg) / DOSE_PER_KG_STEP).to_integral_value(rounding=ROUND_HALF_UP) * DOSE_PER_KG_STEP


def published_dose(drug: str, mg: Decimal | None, kg: Decimal | None) -> Decimal | None:
    """The one dose value sessions.csv publishes for a session: mg per kg (stepped) for racemic ketamine, mg for
    esketamine (see :data:`DOSE_PER_KG_STEP`)."""
    if drug == Drug.ESKETAMINE:
        return mg if mg is not None and mg > 0 else None
    return dose_step(mg, kg)


def code_rare(patients_by_value: dict[str, dict[Decimal, set[int]]], k: int,
              fmt: Callable[[Decimal], str]) -> dict[tuple[str, Decimal], str]:
    """k-anonymity for one numeric column, per drug, by merging neighbours: each drug's values, in order, are cut
    into runs of consecutive values that together hold at least ``k`` patients (a short run left at the top joins
    the run below it), and each value is published as its run: the value itself when it holds ``k`` patients alone,
    else "<=b" for the lowest run, ">=a" for the highest and "a-b" between (the run's lowest and highest values).
    The runs cover every value, so no value is left blank to be worked out from the others, and every label is
    shared by at least ``k`` patients (counted in patients, not sessions). A drug with fewer than ``k`` patients in
    all has every value :data:`SUPPRESSED`."""
    out: dict[tuple[str, Decimal], str] = {}
    for drug, by_value in patients_by_value.items():
        runs: list[list[Decimal]] = []
        run: list[Decimal] = []
        seen: set[int] = set()
        for v in sorted(by_value):
            run.append(v)
            seen |= by_value[v]
            if len(seen) >= k:
                runs.append(run)
                run, seen = [], set()
        if run and not runs:  # fewer than k patients in all
            out.update({(drug, v): SUPPRESSED for v in run})
            continue
        if run:
            runs[-1].extend(run)
        for i, r in enumerate(runs):
            if len(r) == 1:
                label = fmt(r[0])
            elif i == 0:
                label = f"<={fmt(r[-1])}"
            elif i == len(runs) - 1:
                label = f">={fmt(r[0])}"
            else:
                label = f"{fmt(r[0])}-{fmt(r[-1])}"
            out.update({(drug, v): label for v in r})
    return out


def dose_codes(rows, k: int) -> dict[tuple[str, Decimal], str]:
    """What each drug's published dose values are written as (:func:`code_rare`), from ``rows`` of (patient id,
    drug, published dose): the sessions sessions.csv will hold."""
    values: dict[str, dict[Decimal, set[int]]] = {}
    for pid, drug, dose in rows:
        if dose is not None:
            values.setdefault(drug, {}).setdefault(dose, set()).add(pid)
    out: dict[tuple[str, Decimal], str] = {}
    for drug, by_value in values.items():  # mg/kg to two decimals; esketamine's mg as a whole number
        fmt = (lambda v: f"{v.normalize():f}") if drug == Drug.ESKETAMINE else (lambda v: f"{v:.2f}")
        out.update(code_rare({drug: by_value}, k, fmt=fmt))
    return out


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


def draw_shift(lo: int, hi: int, rng: secrets.SystemRandom | None = None) -> int:
    """A shift in days: a whole number of weeks of magnitude lo..hi days (both whole weeks), either direction."""
    rng = rng or secrets.SystemRandom()
    return rng.randint(lo // 7, hi // 7) * 7 * rng.choice((-1, 1))


def _research_ids(n: int) -> list[str]:
    """``n`` distinct research ids drawn from the operating system's CSPRNG, sorted (the files' order)."""
    used: set[str] = set()
    while len(used) < n:
        used.add(f"R{secrets.token_hex(5)}")
    return sorted(used)


README = """De-identified research export (KetaClinic)

Patients: those whose latest research consent decision was "given" when this export was started; the same
patients are in every file and in the summary. Every file is in research_id order.
research_id: drawn at random for this export only; the same patient has another id in another export.
Dates: every date of one patient is shifted by the same random number of whole weeks ({lo} to {hi} days, earlier
or later, drawn anew for each patient and each export); intervals between one patient's dates are exact and the
weekday is real, the calendar days are not. Times of day are removed.
Cutoff: no row has a shifted date after {cutoff}, for any patient (rows after it are left out, so that where a
patient's rows end tells nothing about their shift). Only sessions that took place are included: a dose was
started, or the patient was discharged or transferred; never a booked, cancelled or future session.
Ages: ten-year bands at the first dosing session; 90 and over is "90+" (45 CFR 164.514(b)(2)(i)(C)).
patients.csv: diagnosis group, age band and sex read "suppressed" where needed so that every combination of
diagnosis group, age band, sex and first route is shared by at least {k} patients (or has all three blanked).
Doses (sessions.csv): racemic ketamine in dose_mg_per_kg (mg per kg of the weight confirmed on the day, to the
nearest 0.05), esketamine in dose_mg; never both for one session, as together they would give the weight. For
each drug, a dose fewer than {k} patients had is merged with its neighbours into a range that {k} or more patients
share ("0.60-0.70"; the lowest and highest ranges read "<=0.35" and ">=1.20", of the stepped values); a drug fewer
than {k} patients had reads "suppressed".
summary.csv: patients by diagnosis group and the route of their first dosing session, counted from patients.csv
as published ("suppressed" is the row of patients whose group is blanked there). A count from 1 to {small} is not
shown (CMS Cell Size Suppression Policy); "small" marks it, and "complementary" marks a further count blanked so
that no blank count can be narrowed to fewer than {k} possible values from the totals.
No names, record numbers, identifiers, birth dates, contact details, free text or staff names are included.
"""

HAPPENED = (Q(dose_started_at__isnull=False)
            | Q(status__in=(TreatmentSession.Status.DISCHARGED, TreatmentSession.Status.TRANSFERRED)))


def happened_sessions(now: datetime):
    """Sessions that took place: a dose was started, or the patient was discharged or transferred (and, as its day
    is its dose start or its booked start, none whose day is still to come)."""
    return TreatmentSession.objects.filter(HAPPENED).filter(
        Q(dose_started_at__lte=now) | Q(dose_started_at__isnull=True, scheduled_start__lte=now))


def write_export(clinic, out: IO[bytes], progress: Callable[[int, int], None] = lambda done, total: None, *,
                 run: uuid.UUID | None = None) -> dict:
    """Write the export of ``clinic`` as a ZIP into ``out``; returns what it holds (counts only, no identifier)."""
    lo, hi = shift_range()
    threshold = suppress_below()
    tz = clinic.tz
    now = timezone.now()
    cutoff = timezone.localtime(now, tz).date() - timedelta(days=hi)  # on the shifted calendar, for everyone

    def day(moment: datetime | None, shift: int) -> date | None:
        """The clinic-local day of ``moment`` moved by ``shift`` days (the time of day dropped)."""
        if moment is None:
            return None
        return timezone.localtime(moment, tz).date() + timedelta(days=shift)

    # the patient set, fixed once: one query, a small tuple per consented patient
    rng = secrets.SystemRandom()
    people = list(consented_patients(clinic).annotate(
        group=diagnosis_group(), first=_first_dosed("pk", "dose_started_at"),
        first_route=_first_dosed("pk", "route")).values_list(
        "pk", "date_of_birth", "sex_at_birth", "group", "first", "first_route"))
    rng.shuffle(people)  # research ids are handed out in a random order, never in database-id order
    records: list[list[str]] = []
    members: dict[int, tuple[str, int]] = {}
    for rid, (pk, born, sex, group, first, route) in zip(_research_ids(len(people)), people, strict=True):
        shift = draw_shift(lo, hi, rng)
        first_day = day(first, shift)
        dosed = first_day is not None and first_day <= cutoff  # a first dose after the cutoff is not exported
        band = age_band(born, timezone.localtime(first, tz).date()) if dosed else ""
        members[pk] = (rid, shift)
        records.append([group, band, sex or "", route if dosed else "", rid])
    generalised_fields = generalise(records, threshold, blankable=(0, 1, 2), fields=(0, 1, 2, 3))
    run = run or uuid.uuid4()  # the job's public id: a killed job's rows are found by it (jobs.prune_jobs)
    by_rid = sorted(members.items(), key=lambda item: item[1][0])
    ResearchExportMember.objects.bulk_create(
        [ResearchExportMember(run=run, patient_id=pk, rank=n) for n, (pk, _) in enumerate(by_rid)], batch_size=CHUNK)
    try:
        return _write_files(clinic, out, progress, run=run, members=members, records=records, now=now,
                            cutoff=cutoff, day=day, lo=lo, hi=hi, threshold=threshold,
                            generalised_fields=generalised_fields)
    finally:
        ResearchExportMember.objects.filter(run=run).delete()


def _write_files(clinic, out, progress, *, run, members, records, now, cutoff, day, lo, hi, threshold,
                 generalised_fields) -> dict:
    member = Q(patient__research_export_members__run=run)
    rank = "patient__research_export_members__rank"
    sessions = happened_sessions(now).filter(member)
    scales = Administration.objects.filter(member, replaced_by__isnull=True, administered_at__lte=now, status__in=(
        Administration.Status.FINAL, Administration.Status.AMENDED))
    events = AdverseEvent.objects.filter(onset_at__lte=now, session__in=happened_sessions(now)).filter(
        session__patient__research_export_members__run=run)
    tally = _Progress(len(records) + sessions.count() + scales.count() + events.count() + 1, progress)
    counts = {"patients": 0, "sessions": 0, "scales": 0, "adverse_events": 0}
    archive = _Zip(out)
    try:
        with archive.member("README.txt") as f:
            f.write(README.format(lo=lo, hi=hi, small=threshold - 1, k=threshold, cutoff=cutoff.isoformat()))

        with archive.member("patients.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "diagnosis_group", "age_band_at_first_session", "sex_at_birth",
                        "first_route"])
            for group, band, sex, route, rid in sorted(records, key=lambda r: r[4]):
                w.writerow([rid, group, band, sex, route])
                counts["patients"] += 1
                tally.step()

        # the doses generalised: a first pass over the same sessions counts the patients of each drug's dose values,
        # so that rare ones are merged with their neighbours (:func:`dose_codes`)
        doses = sessions.values_list("patient_id", "drug", "administered_mg", "verified_weight_kg", "weight_kg",
                                     "dose_started_at", "scheduled_start")
        codes = dose_codes(((pid, drug, published_dose(drug, mg, verified_kg or kg))
                            for pid, drug, mg, verified_kg, kg, started, scheduled in doses.iterator(chunk_size=CHUNK)
                            if day(started or scheduled, members[pid][1]) <= cutoff), threshold)
        with archive.member("sessions.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "session_in_series", "route", "drug", "dose_mg", "dose_mg_per_kg",
                        "shifted_date", "status", "adverse_events", "severe_adverse_events"])
            rows = (sessions.annotate(ae=Count("adverse_events"), ae_severe=Count(
                "adverse_events", filter=Q(adverse_events__severity=AdverseEvent.Severity.SEVERE)))
                .order_by(rank, "scheduled_start", "pk")
                .values_list("patient_id", "sequence", "route", "drug", "administered_mg", "verified_weight_kg",
                             "weight_kg", "dose_started_at", "scheduled_start", "status", "ae", "ae_severe"))
            for (pid, seq, route, drug, mg, verified_kg, kg, started, scheduled, status, ae,
                 severe) in rows.iterator(chunk_size=CHUNK):
                rid, shift = members[pid]
                shifted = day(started or scheduled, shift)
                if shifted > cutoff:
                    continue
                dose = published_dose(drug, mg, verified_kg or kg)
                # a session that changed between the two passes (a dose stopped just now) reads suppressed
                shown = "" if dose is None else codes.get((drug, dose), SUPPRESSED)
                in_mg = drug == Drug.ESKETAMINE
                w.writerow([rid, seq, route, drug, shown if in_mg else "", "" if in_mg else shown,
                            shifted.isoformat(), status, ae, severe])
                counts["sessions"] += 1
                tally.step()

        with archive.member("scales.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "scale", "shifted_date", "total", "timing"])
            rows = scales.order_by(rank, "administered_at", "pk").values_list(
                "patient_id", "scale", "administered_at", "total", "timing")
            for pid, scale, at, total, timing in rows.iterator(chunk_size=CHUNK):
                rid, shift = members[pid]
                shifted = day(at, shift)
                if shifted > cutoff:
                    continue
                w.writerow([rid, scale, shifted.isoformat(), "" if total is None else total, timing])
                counts["scales"] += 1
                tally.step()

        with archive.member("adverse_events.csv") as f:
            w = csv.writer(f)
            w.writerow(["research_id", "kind", "severity", "shifted_date"])
            rows = events.order_by(f"session__{rank}", "onset_at", "pk").values_list(
                "session__patient_id", "kind", "severity", "onset_at")
            for pid, kind, severity, onset in rows.iterator(chunk_size=CHUNK):
                rid, shift = members[pid]
                shifted = day(onset, shift)
                if shifted > cutoff:
                    continue
                w.writerow([rid, kind, severity, shifted.isoformat()])
                counts["adverse_events"] += 1
                tally.step()

        summary = summary_from_rows(records, threshold)
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
            "patient_fields_generalised": generalised_fields, "shift_days": [lo, hi], "suppress_below": threshold}


def summary_from_rows(records: list[list[str]], threshold: int) -> dict[Key, tuple[int, str]]:
    """Patients with a first dosing session in the export, by the diagnosis group and first route of their
    published (generalised) row, suppressed by :func:`suppress`: the summary never says what the rows contradict."""
    from ketaclinic.reports.base import DIAGNOSIS_GROUPS
    from ketaclinic.treatments.models import Route

    counts = Counter((r[0], r[3]) for r in records if r[3])
    return suppress(dict(counts), [*DIAGNOSIS_GROUPS, SUPPRESSED], [value for value, _ in Route.choices], threshold)


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
    force; not the decision already in force, whoever records it and however), appends a row (never changes one)
    and audits ``research.consent.recorded``, in one transaction."""
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
        if latest is not None and latest.decision == decision:
            # the decision in force said again (a double press, a second tab, a form filed twice): one decision
            raise ConsentError({"decision": f"Already recorded on {timezone.localdate(latest.recorded_at):%Y-%m-%d}: "
                                            f"{latest.get_decision_display().lower()}."})
        row = ResearchConsent.objects.create(patient=patient, decision=decision, how=how, note=note,
                                             recorded_by=actor.user)
        record(actor, AuditAction.RESEARCH_CONSENT_RECORDED, subject=row, patient=patient,
               details={"decision": decision, "how": how,
                        "previous": latest.decision if latest is not None else None})
    if decision != ResearchConsent.Decision.GIVEN:
        # after the commit (the decision is in force): finished exports that may hold this patient are deleted now;
        # one still being written is deleted when it finishes (jobs.run_job). Deleting a file is always safe.
        from ketaclinic.reports.jobs import revoke_research_exports

        revoke_research_exports(actor=actor, decided_at=row.recorded_at, clinic_id=patient.clinic_id)
    return row
