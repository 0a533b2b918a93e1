"""Strict parsing of what people type into text, numeric, id and date fields (every app's forms and the API).

Nothing here is a clinical rule: the bounds are what the record can store (the model field's digits), so an
absurd entry such as ``1e30``, ``NaN`` or forty nines is a clear message next to the field instead of a server
error. The clinical limits (plausible weight, maximum dose, ...) stay in :mod:`ketaclinic.clinical`.

Numbers that are a measurement or a code are ASCII digits only: Python's ``int()`` and ``Decimal()`` also accept
underscores (``1_20``), a sign (``+120``) and other scripts' digits (``١٢٠``, ``１２０``, ``²``), none of which a
clinician types on purpose. Free text never carries control characters: PostgreSQL cannot store NUL at all, and the
others are invisible on screen and in the printed record (multi-line text keeps tab and line breaks).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

# ``[0-9]`` (never ``\d``, which matches every script's digits) and no leading "+": see the module's docstring.
PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)")
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
DIGITS = re.compile(r"[0-9]+")
MAX_CHARS = 24
EARLIEST_DAY = date(1900, 1, 1)
LATEST_YEARS_AHEAD = 2
#: The C0 control characters and DEL. Tab, line feed and carriage return are allowed in multi-line text only (a
#: browser sends a textarea's line breaks as CR LF).
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
MULTILINE_ALLOWED = frozenset("\t\n\r")
#: The longest e-mail address mail can carry (RFC 5321 path limit), and Django's EmailField's default length.
EMAIL_MAX = 254
#: What would make one address a list (",", ";"), a display-name form ("<", ">") or a new mail header (a line
#: break or any other control character), or is a space.
EMAIL_HEADER_CHARACTERS = re.compile(r"[,;<>\s\x00-\x1f\x7f]")


class InputError(ValueError):
    """A value that is not acceptable; ``message`` is shown next to the field."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text`` that is not allowed there (as ``U+0000``), or None."""
    for m in CONTROL_CHARACTER.finditer(text):
        if not (multiline and m.group() in MULTILINE_ALLOWED):
            return f"U+{ord(m.group()):04X}"
    return None


def control_character_message(label: str, code: str, *, multiline: bool = False) -> str:
    kept = " (tabs and line breaks are fine)" if multiline else ""
    return (f"{label} contains an invisible control character ({code}), perhaps pasted from another program; "
            f"retype it without that character{kept}.")


def check_text(value: object, label: str, *, multiline: bool = False, max_length: int | None = None) -> str:
    """Free text as typed (not stripped): refused with :class:`InputError` when it holds a control character
    (:func:`control_character`) or is longer than ``max_length``."""
    text = "" if value is None else str(value)
    code = control_character(text, multiline=multiline)
    if code is not None:
        raise InputError(control_character_message(label, code, multiline=multiline))
    if max_length is not None and len(text) > max_length:
        raise InputError(f"{label} must be at most {max_length} characters (it has {len(text)}).")
    return text


def check_email_address(raw: object, *, where: str = "") -> str:
    """Exactly one e-mail address, stripped, or :class:`InputError`: no list (commas, semicolons), no space, line
    break or other character that would change the mail's headers (Django's mail raises BadHeaderError on a line
    break), at most EMAIL_MAX characters, and valid by Django's EmailValidator. ``where`` goes into the message
    after "email address" (e.g. " on the patient's details")."""
    email = ("" if raw is None else str(raw)).strip()
    if not email:
        raise InputError(f"Enter an email address{where}.")
    if len(email) > EMAIL_MAX:
        raise InputError(f"The email address{where} is {len(email)} characters long; an address has at most "
                         f"{EMAIL_MAX}.")
    if EMAIL_HEADER_CHARACTERS.search(email):
        raise InputError(f"Type exactly one email address{where}: no commas, semicolons, spaces or line breaks. "
                         "Mail goes to one person.")
    try:
        EmailValidator()(email)
    except ValidationError:
        raise InputError(f"\u201c{email}\u201d{where} is not an email address (name@example.org).") from None
    return email


def phone_number(raw: str) -> str:
    """``raw`` as E.164 (+ and digits), or "" when it is not a dialable number. A 10-digit number is read as a North
    American one (+1); anything else must be written with its country code."""
    digits = re.sub(r"\D", "", raw or "")
    if (raw or "").strip().startswith("+") and 8 <= len(digits) <= 15:
        return f"+{digits}"
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return ""


PHONE_MESSAGE = ("{label}: enter a phone number a call or text can reach: 10 digits with the area code (e.g. "
                 "303-555-0142), or + and the country code for a number outside North America.")


def ascii_digits(text: str) -> bool:
    """True when ``text`` is one or more ASCII digits 0-9 and nothing else (``str.isdigit`` also says True for
    "²", "١٢٠" and "１２０", which ``int()`` then refuses or reads as another number)."""
    return DIGITS.fullmatch(text) is not None


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def field_bounds(model, field: str) -> tuple[Decimal, int]:
    """(largest value, decimal places) a DecimalField can store."""
    f = model._meta.get_field(field)
    places = int(f.decimal_places)
    return Decimal(10) ** (int(f.max_digits) - places) - Decimal(1).scaleb(-places), places


def plain_decimal(text: str) -> Decimal | None:
    """The number a plain decimal entry spells ("70.5", "70,5", "-2"), or None for anything else: exponents
    ("1e30"), NaN, infinity, a "+" sign, underscores, digits other than ASCII 0-9, or more than MAX_CHARS
    characters."""
    text = text.strip().replace(",", ".")
    if not text or len(text) > MAX_CHARS or not PLAIN_NUMBER.fullmatch(text):
        return None
    return Decimal(text)


def parse_decimal(value: object, label: str, *, max_value: Decimal, places: int = 2,
                  min_value: Decimal = Decimal(0)) -> Decimal | None:
    """A plain decimal number (no exponent, NaN or infinity) within [min_value, max_value], rounded to
    ``places`` decimals; None for a blank entry. Raises :class:`InputError` with a message naming the label."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    d = plain_decimal(text)
    if d is None:
        raise InputError(f"{label} must be a plain number (for example 70.5).")
    if not min_value <= d <= max_value:
        raise InputError(f"{label} must be from {_plain(min_value)} to {_plain(max_value)}.")
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_whole(value: object, label: str, *, min_value: int = 0, max_value: int) -> int | None:
    """A whole number of at most 18 digits within [min_value, max_value]; None for a blank entry."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if not DIGITS.fullmatch(text):
        raise InputError(f"{label} must be a whole number.")
    if len(text) > 18 or not min_value <= int(text) <= max_value:
        raise InputError(f"{label} must be from {min_value} to {max_value}.")
    return int(text)


def parse_id(value: object) -> int | None:
    """A database id typed into a form (hidden field), or None when it cannot be one."""
    text = str(value or "").strip()
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def day_window(today: date) -> tuple[date, date]:
    """The days a page may show or book: 1900-01-01 to two years from today."""
    try:
        latest = today.replace(year=today.year + LATEST_YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = today + timedelta(days=365 * LATEST_YEARS_AHEAD)
    return EARLIEST_DAY, latest


def parse_day(raw: object, *, today: date, default: date) -> tuple[date, str]:
    """(day, message): a strict ISO date clamped to :func:`day_window`; blank or unreadable gives ``default``.
    The message says what was done with an entry that could not be used as given (empty when used)."""
    text = str(raw or "").strip()
    if not text:
        return default, ""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except (ValueError, OverflowError):
        day = None
    if day is None:
        return default, f"'{text[:20]}' is not a date (YYYY-MM-DD): showing {default.isoformat()}."
    lo, hi = day_window(today)
    if day < lo:
        return lo, f"{day.isoformat()} is too far in the past: showing {lo.isoformat()}."
    if day > hi:
        return hi, f"{day.isoformat()} is too far ahead: showing {hi.isoformat()}."
    return day, ""


def wall_clock_moment(day: date, at: time, tz) -> datetime | None:
    """The moment the clinic's wall clock (``tz``) shows ``at`` on ``day``, in UTC; None when that time does not
    exist (skipped when clocks spring forward). In the hour repeated when clocks fall back it is the first
    occurrence, so a deadline counted from it can only come earlier. UTC because a moment in the repeated hour
    compares unequal to every other zone's datetimes (PEP 495)."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    moment = naive.replace(tzinfo=tz, fold=0)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return moment.astimezone(UTC)


def nonexistent_time_message(day: date, at: time, tz) -> str:
    return (f"{day:%Y-%m-%d} {at:%H:%M} does not exist in {tz.key}: the clocks moved forward that night. "
            "Enter the time as the clock showed it (an hour later).")
