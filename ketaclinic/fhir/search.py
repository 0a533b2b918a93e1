"""Search parameters of the FHIR facade: parsed and checked before any query runs, so a bad one is a 400
OperationOutcome naming it, never a 500 and never silently ignored (FHIR R4 search, http://hl7.org/fhir/R4/search.html).

Supported (per type, as the registry lists them; the CapabilityStatement says the same):
* ``patient`` / ``subject``: ``Patient/<id>`` or ``<id>``, several separated by commas (any of them);
* ``code``: tokens ``system|code``, ``|code`` (no system given) or ``code`` (any system), commas for any;
* ``category`` (Observation): ``vital-signs``, ``survey``; (DocumentReference): ``clinical-note``, ``billing``;
* ``type`` (DocumentReference): tokens as ``code``, e.g. ``urn:ketaclinic:document|session-record``;
* ``date`` and ``_lastUpdated``: a FHIR date or dateTime (``2026``, ``2026-06``, ``2026-06-17``,
  ``2026-06-17T10:00``, with seconds and an offset or ``Z``), prefixed by ``eq`` (default), ``ne``, ``lt``, ``le``,
  ``gt``, ``ge``; repeated for a range (all must hold). A value without an offset is read in the clinic's time
  zone. The value is a span (a day, a month …): ``eq`` means the moment falls inside it, ``lt`` before its start,
  ``le`` before its end, ``gt`` at or after its end, ``ge`` at or after its start;
* ``_id``; ``identifier`` (Patient: the MRN, ``urn:ketaclinic:mrn|KC…`` or the MRN alone);
* ``_count`` (1 to 500, default 50; 0 gives no entries), ``_offset`` (the paging position our ``next`` links carry),
  ``_include=<Type>:patient`` / ``<Type>:subject``, ``_format=json`` (or ``application/fhir+json``,
  ``application/json``).
Anything else, a modifier (``code:text``), or a malformed value is refused with its name. So is a parameter other
than ``date``, ``_lastUpdated``, ``_include`` and ``_format`` given twice (FHIR reads ``patient=A&patient=B`` as
both at once; commas within one value mean any of them), and ``patient`` with ``subject``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as dt_tz
from zoneinfo import ZoneInfo

from django.db.models import Q

from ketaclinic.fhir.outcome import FhirRequestError

PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")
FORMATS = frozenset({"json", "application/fhir+json", "application/json", "application/json+fhir"})
DEFAULT_COUNT = 50
MAX_COUNT = 500
#: Parameters every search takes.
COMMON = frozenset({"_count", "_offset", "_format", "_include"})
#: Parameters that may be repeated: dates (two clauses make a range, each must hold), _include, _format.
REPEATABLE = frozenset({"date", "_lastUpdated", "_include", "_format"})

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$",
    re.ASCII)
_WHOLE = re.compile(r"^[0-9]{1,9}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DateClause:
    prefix: str
    start: datetime
    end: datetime
    text: str

    def q(self, field_name: str, *, as_day: bool = False, tz: ZoneInfo | None = None) -> Q:
        start, end = self.start, self.end
        if as_day:  # a date column: compare with the clinic's calendar days the span covers
            start = start.astimezone(tz).date()
            local_end = end.astimezone(tz)
            end = local_end.date() if local_end.time() == time(0) else local_end.date() + timedelta(days=1)
        inside = Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
        return {
            "eq": inside, "ne": ~inside,
            "lt": Q(**{f"{field_name}__lt": start}), "le": Q(**{f"{field_name}__lt": end}),
            "gt": Q(**{f"{field_name}__gte": end}), "ge": Q(**{f"{field_name}__gte": start}),
        }[self.prefix]

    def holds(self, moment: datetime) -> bool:
        inside = self.start <= moment < self.end
        return {"eq": inside, "ne": not inside, "lt": moment < self.start, "le": moment < self.end,
                "gt": moment >= self.end, "ge": moment >= self.start}[self.prefix]


@dataclass
class SearchQuery:
    resource_type: str
    patients: list[uuid.UUID] | None = None
    codes: list[tuple[str | None, str]] | None = None
    categories: list[str] | None = None
    types: list[tuple[str | None, str]] | None = None
    dates: list[DateClause] = field(default_factory=list)
    last_updated: list[DateClause] = field(default_factory=list)
    ids: list[str] | None = None
    identifiers: list[tuple[str | None, str]] | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0
    include_patient: bool = False


def parse_date(value: str, tz: ZoneInfo, *, name: str = "date") -> DateClause:
    """``ge2026-06-01`` -> a clause (prefix, the span's start and end)."""
    text = value
    prefix = "eq"
    if value[:2] in PREFIXES:
        prefix, value = value[:2], value[2:]
    m = _DATE.match(value)
    if not m:
        raise FhirRequestError(
            f"Search parameter {name}: {text!r} is not a FHIR date or dateTime (e.g. 2026-06-17 or "
            "2026-06-17T10:30:00-06:00, optionally prefixed by eq, ne, lt, le, gt or ge).", expression=name)
    try:
        y = int(m["y"])
        if m["m"] is None:
            start, end = datetime(y, 1, 1), datetime(y + 1, 1, 1)
        elif m["d"] is None:
            mo = int(m["m"])
            start = datetime(y, mo, 1)
            end = datetime(y + (mo == 12), mo % 12 + 1, 1)
        elif m["H"] is None:
            start = datetime.combine(date(y, int(m["m"]), int(m["d"])), time(0))
            end = start + timedelta(days=1)
        else:
            sec = int(m["S"] or 0)
            start = datetime(y, int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), sec)
            end = start + (timedelta(seconds=1) if m["S"] is not None else timedelta(minutes=1))
    except (ValueError, OverflowError):
        raise FhirRequestError(f"Search parameter {name}: {text!r} is not a real date (or its span reaches past the "
                               "year 9999).", expression=name) from None
    offset = m["tz"]
    if offset:
        if offset == "Z":
            zone = UTC
        else:
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 14 or minutes > 59:
                raise FhirRequestError(f"Search parameter {name}: {offset!r} is not a time-zone offset.",
                                       expression=name)
            zone = dt_tz(sign * timedelta(hours=hours, minutes=minutes))
        start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    else:
        # Wall-clock time in the clinic; fold=0 reads a repeated hour as its first occurrence.
        start, end = start.replace(tzinfo=tz), end.replace(tzinfo=tz)
    try:  # every comparison (in UTC, and in the clinic's calendar days for date columns) must be representable
        for moment in (start, end):
            moment.astimezone(UTC)
            moment.astimezone(tz).date() + timedelta(days=1)
    except (ValueError, OverflowError):
        raise FhirRequestError(f"Search parameter {name}: {text!r} lies outside the dates this server can compare "
                               "(years 0001 to 9999 in UTC and in the clinic's time zone).", expression=name) from None
    return DateClause(prefix, start, end, text)


def parse_token(value: str, name: str) -> tuple[str | None, str]:
    if not value:
        raise FhirRequestError(f"Search parameter {name} is empty.", expression=name)
    if "|" in value:
        system, code = value.split("|", 1)
        if not code:
            raise FhirRequestError(f"Search parameter {name}: {value!r} names a system but no code.", expression=name)
        return (system or "", code)
    return (None, value)


def parse_reference(value: str, name: str) -> uuid.UUID | None:
    """``Patient/<uuid>`` or ``<uuid>`` -> the uuid; an id that cannot be ours gives None (it matches nothing)."""
    raw = value
    if "/" in value:
        rtype, _, value = value.rpartition("/")
        if rtype.rsplit("/", 1)[-1] != "Patient":
            raise FhirRequestError(f"Search parameter {name}: {raw!r} is not a Patient reference.", expression=name)
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _int(value: str, name: str, lo: int, hi: int | None) -> int:
    if not _WHOLE.match(value):
        raise FhirRequestError(f"Search parameter {name}: {value!r} is not a whole number (digits 0-9, at most "
                               "nine).", expression=name)
    n = int(value)
    if n < lo or (hi is not None and n > hi):
        raise FhirRequestError(f"Search parameter {name}: {n} is out of range ({lo} to {hi})." if hi is not None
                               else f"Search parameter {name}: {n} is below {lo}.", expression=name)
    return n


def check_format(params) -> None:
    for value in params.getlist("_format"):
        if value not in FORMATS:
            raise FhirRequestError(f"_format {value!r} is not served: this server answers JSON only "
                                   "(_format=json or application/fhir+json).", status=406, code="not-supported",
                                   expression="_format")


def parse(resource_type: str, supported: tuple[str, ...], params, tz: ZoneInfo) -> SearchQuery:
    """A :class:`SearchQuery` from the request's query parameters (a QueryDict), or :class:`FhirRequestError`."""
    query = SearchQuery(resource_type)
    allowed = COMMON | set(supported)
    for key in params:
        name, _, modifier = key.partition(":")
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise FhirRequestError(f"Unknown search parameter {key!r} for {resource_type}; this server supports: "
                                   f"{known}.", code="not-supported", expression=key)
        if modifier:
            raise FhirRequestError(f"Search parameter {key!r}: modifiers are not supported.", code="not-supported",
                                   expression=key)
    for key in params:
        if key not in REPEATABLE and len(params.getlist(key)) > 1:
            raise FhirRequestError(f"Search parameter {key!r} is given more than once. FHIR reads repeats as AND "
                                   f"(every one must match), which this server does not do for {key}; give it once, "
                                   "with comma-separated values to match any of them.", expression=key)
    if "patient" in params and "subject" in params:
        raise FhirRequestError("Give patient or subject, not both (together they would have to match at once).",
                               expression="subject")
    for key in params:
        for value in params.getlist(key):
            if _CONTROL.search(value):
                raise FhirRequestError(f"Search parameter {key!r} holds a control character.", expression=key)
    check_format(params)
    for value in params.getlist("_count"):
        query.count = min(_int(value, "_count", 0, None), MAX_COUNT)
    for value in params.getlist("_offset"):
        query.offset = _int(value, "_offset", 0, None)
    for value in params.getlist("_include"):
        if value not in (f"{resource_type}:patient", f"{resource_type}:subject") or "patient" not in supported:
            raise FhirRequestError(f"_include {value!r} is not supported; {resource_type} searches include "
                                   f"{resource_type}:patient only." if "patient" in supported else
                                   f"_include is not supported for {resource_type}.", code="not-supported",
                                   expression="_include")
        query.include_patient = True
    for name in ("patient", "subject"):
        for value in params.getlist(name):
            refs = [parse_reference(v, name) for v in value.split(",")]
            query.patients = [r for r in refs if r is not None] + (query.patients or [])
    if query.patients is not None and len(query.patients) == 0:
        query.patients = []
    for value in params.getlist("code"):
        query.codes = (query.codes or []) + [parse_token(v, "code") for v in value.split(",")]
    for value in params.getlist("category"):
        query.categories = (query.categories or []) + [parse_token(v, "category")[1] for v in value.split(",")]
    for value in params.getlist("type"):
        query.types = (query.types or []) + [parse_token(v, "type") for v in value.split(",")]
    for value in params.getlist("date"):
        query.dates.append(parse_date(value, tz, name="date"))
    for value in params.getlist("_lastUpdated"):
        query.last_updated.append(parse_date(value, tz, name="_lastUpdated"))
    for value in params.getlist("_id"):
        query.ids = (query.ids or []) + [v for v in value.split(",") if v]
    for value in params.getlist("identifier"):
        query.identifiers = (query.identifiers or []) + [parse_token(v, "identifier") for v in value.split(",")]
    return query
