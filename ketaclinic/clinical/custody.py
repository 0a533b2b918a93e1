"""Controlled-substance custody rules (DEA, Schedule III): small pure functions, each citing its source.

Used by the custody app (``ketaclinic/custody``). Settings are read from ``clinic.limits()`` keys defined in
``ketaclinic/clinical/settings.py``:
``custody.opened_vial_beyond_use_hours``, ``custody.waste_witness_count``, ``custody.routine_count_frequency``,
``custody.inventory_interval_months``, ``custody.record_retention_years``,
``custody.theft_notice_business_days`` and ``custody.dea106_days``. No key was missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

Q2 = Decimal("0.01")

#: DEA Form 41: two authorized employee witnesses sign a destruction. clinical.md §6 'Destruction of
#: inventory' row (DEA-41, OMB 1117-0007; status C).
DESTRUCTION_WITNESSES = 2

#: DEA controlled-substance code for ketamine, its salts and isomers (covers esketamine), Schedule III.
#: clinical.md §5b 'DEA controlled-substance code' row (21 CFR 1308.13(c); status C).
DEA_DRUG_CODE = "7285"
DEA_SCHEDULE = "III"


def q2(value: Decimal) -> Decimal:
    """Round to 0.01 (the ledger's resolution, issue 6 item 7)."""
    return Decimal(value).quantize(Q2, rounding=ROUND_HALF_UP)


def waste_witnesses_required(waste_witness_count: int) -> int:
    """Witnesses needed besides the person wasting.

    ``custody.waste_witness_count`` counts the people present (clinical.md §6 'Wastage' row: no federal
    witness count; state/institutional policy, default 2 licensed staff, status U). 2 people = the
    administering clinician plus one witness.
    """
    return max(0, int(waste_witness_count) - 1)


def beyond_use_at(opened_at: datetime | None, hours: int) -> datetime | None:
    """When an opened vial must be discarded (setting ``custody.opened_vial_beyond_use_hours``, unconfirmed:
    clinical.md gives no number; check the product label and USP <797>). ``None`` while unopened."""
    if opened_at is None:
        return None
    return opened_at + timedelta(hours=hours)


def is_expired(expiry: date, today: date) -> bool:
    """A lot is expired once its expiry date is before today (the expiry date itself is still usable)."""
    return expiry < today


def us_federal_holidays(year: int) -> dict[date, str]:
    """The US federal holidays of ``year`` with the days they are observed (5 U.S.C. 6103: a holiday on a
    Saturday is observed the Friday before, one on a Sunday the Monday after), from the ``holidays`` package's
    US public calendar (pure computation, no network). A DEA Field Division is a federal office, closed on
    them."""
    import holidays

    return dict(holidays.country_holidays("US", years=year, categories=("public",)))


@cache
def _holiday_dates(year: int) -> frozenset[date]:
    # the calendar of a year never changes: built once per year, not once per day counted
    return frozenset(us_federal_holidays(year))


def is_business_day(day: date) -> bool:
    """A federal business day: Monday to Friday and not a US federal holiday (or its observed day)."""
    return day.weekday() < 5 and day not in _holiday_dates(day.year)


def add_business_days(day: date, n: int, counts: Callable[[date], bool] = is_business_day) -> date:
    """``n`` business days after ``day`` (the day itself does not count). By default federal business days
    (weekends and US federal holidays, observed days included, are skipped; :func:`is_business_day`);
    ``counts`` says which days count under another rule (the Good Faith Estimate deadlines, ``gfe``)."""
    d = day
    added = 0
    while added < n:
        d += timedelta(days=1)
        if counts(d):
            added += 1
    return d


def theft_notice_due(discovered_at: datetime, business_days: int, tz) -> datetime:
    """Deadline for the WRITTEN notice to the local DEA Field Division after discovering a theft or
    significant loss: within 1 business day of discovery (clinical.md §6 'Theft / significant loss' row,
    88 FR 40707; status C). Taken as the end of the next federal business day (weekends and US federal
    holidays skipped) in the clinic's time zone."""
    local = discovered_at.astimezone(tz)
    due_day = add_business_days(local.date(), business_days)
    return datetime.combine(due_day, time(23, 59, 59), tz)


def form106_due(discovered_on: date, days: int) -> date:
    """DEA Form 106 filed electronically within 45 days of discovery (clinical.md §6 'Theft / significant
    loss' row; paper no longer accepted from 2023-07-24; status C)."""
    return discovered_on + timedelta(days=days)


def estimate_allowed(schedule: str, opened: bool) -> bool:
    """Inventory count method: CI-II exact; CIII-V opened container may be estimated (unless > 1,000
    tablets/capsules, which does not apply to vials or devices). clinical.md §6 'Count method' row
    (21 CFR 1304.11(e); status C)."""
    return schedule in ("III", "IV", "V") and opened


def routine_count_due(frequency: str, last_count_at: datetime | None, now: datetime, tz,
                      draws_since_last: int) -> bool:
    """Whether a routine count is due under ``custody.routine_count_frequency`` (no number in clinical.md;
    a clinic setting): each_session = any draw since the last count; daily = none yet today (clinic time);
    weekly = none in the last 7 days; monthly = none in the last 30 days."""
    if last_count_at is None:
        return True
    if frequency == "each_session":
        return draws_since_last > 0
    if frequency == "daily":
        return last_count_at.astimezone(tz).date() < now.astimezone(tz).date()
    if frequency == "weekly":
        return now - last_count_at >= timedelta(days=7)
    if frequency == "monthly":
        return now - last_count_at >= timedelta(days=30)
    raise ValueError(f"unknown count frequency {frequency!r}")


def inventory_due_on(last_inventory_on: date | None, interval_months: int) -> date | None:
    """Next full inventory due: within 2 years of the last (clinical.md §6 'Biennial inventory' row,
    21 CFR 1304.11(c), status S; some states annual). ``None`` when no inventory was ever taken (the
    initial inventory is then due first, clinical.md §6 'Initial inventory')."""
    if last_inventory_on is None:
        return None
    month = last_inventory_on.month - 1 + interval_months
    year = last_inventory_on.year + month // 12
    month = month % 12 + 1
    day = min(last_inventory_on.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                                      31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return date(year, month, day)


def session_account_problems(*, unit: str, drawn: Decimal, administered_recorded: Decimal | None,
                             administered_posted: Decimal, wasted: Decimal, pending_waste: Decimal,
                             prepared_lot: str = "", drawn_lots: frozenset[str] = frozenset()) -> list[str]:
    """Why a dosing session's controlled-substance account does not balance; empty when it does.

    Every quantity is in the product's unit (mL of a vial, esketamine devices), to 0.01. The account balances
    when something was drawn for the session, the amount the session record says was given
    (``administered_recorded``; None while dosing has not ended) is posted to the ledger, no waste waits for
    its witness, and drawn = administered + wasted (a draw returned to stock is reversed, so it no longer counts
    as drawn). The lot recorded at preparation (``prepared_lot``) must be among the lots drawn from
    (``drawn_lots``), so the session record and the ledger name the same stock. Source: 21 CFR 1304.22(c)(4)-(5), every unit administered and every unit disposed of is recorded
    (clinical.md §6 'Dispenser record fields', C); residue is wasted and recorded, not put on Form 41 (§6
    'Wastage', C)."""
    problems = []
    if drawn <= 0 and administered_recorded is not None and administered_recorded <= 0 and pending_waste <= 0:
        return problems  # nothing given (e.g. transferred before any drug ran) and nothing drawn: nothing to account
    if drawn <= 0:
        problems.append("Nothing was drawn from stock for this session: draw the dose from a vial or device the "
                        "clinic holds.")
        return problems
    if prepared_lot and drawn_lots and prepared_lot not in drawn_lots:
        problems.append(f"The dose was prepared from lot {prepared_lot} but drawn from lot "
                        f"{', '.join(sorted(drawn_lots))}: reverse the draw and draw from the prepared lot, or "
                        "prepare the dose again.")
    if administered_recorded is None:
        problems.append("Dosing has not ended: the dose given is not recorded yet.")
    elif q2(administered_posted) != q2(administered_recorded):
        if administered_posted == 0:
            problems.append(f"The {q2(administered_recorded)} {unit} given is not yet posted to the ledger: "
                            "record the administration.")
        else:
            problems.append(f"The ledger shows {q2(administered_posted)} {unit} administered but the session "
                            f"records {q2(administered_recorded)} {unit}: reverse the administration and record "
                            "it again.")
    if pending_waste > 0:
        problems.append(f"Waste of {q2(pending_waste)} {unit} awaits its witness's signature.")
    residue = q2(drawn - administered_posted - wasted)
    if residue > 0 and administered_recorded is not None:
        problems.append(f"{residue} {unit} drawn is neither given nor wasted: waste the residue with a witness.")
    elif residue < 0:
        problems.append(f"More was given or wasted than drawn ({-residue} {unit}): record the missing draw.")
    return problems
