"""Money as whole cents: reading what people type, showing it, and sharing a sum over parts so the cents always add
up. No floats anywhere (a float cannot hold 0.10 exactly)."""

from __future__ import annotations

import re

#: The most one amount may be: $10,000,000.00 (well above any charge a clinic makes; a typo guard, not a rule).
MAX_CENTS = 1_000_000_000

_PLAIN = re.compile(r"\$?(?P<whole>\d+)(?:\.(?P<frac>\d{1,2}))?")
_GROUPED = re.compile(r"\$?(?P<whole>\d{1,3}(?:,\d{3})+)(?:\.(?P<frac>\d{1,2}))?")


class MoneyError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_cents(text: object, *, label: str = "Amount", allow_zero: bool = False) -> int:
    """Dollars and cents as typed ("1234.50", "1,234.50", "$40", "0.05") → whole cents (123450).

    Refused, with a message naming ``label``: a sign (negative amounts), more than two decimals, an exponent,
    spaces inside, thousands separators in the wrong places ("1,23.4"), other scripts' digits, zero (unless
    ``allow_zero``) and anything above :data:`MAX_CENTS`."""
    if not isinstance(text, str):
        raise MoneyError(f"{label}: enter an amount such as 125.00.")
    s = text.strip()
    if s.startswith("-") or s.startswith("$-") or s.startswith("("):
        raise MoneyError(f"{label} cannot be negative.")
    if not s.isascii():
        raise MoneyError(f"{label}: use the digits 0-9.")
    m = _PLAIN.fullmatch(s) or _GROUPED.fullmatch(s)
    if m is None:
        if re.fullmatch(r"\$?[\d,]*\.\d{3,}", s):
            raise MoneyError(f"{label}: at most two decimals (cents).")
        raise MoneyError(f"{label}: enter an amount such as 1,234.50.")
    whole = int(m.group("whole").replace(",", ""))
    frac = (m.group("frac") or "").ljust(2, "0")
    cents = whole * 100 + int(frac or 0)
    if cents == 0 and not allow_zero:
        raise MoneyError(f"{label} must be more than 0.00.")
    if cents > MAX_CENTS:
        raise MoneyError(f"{label} is more than {dollars(MAX_CENTS)}.")
    return cents


def dollars(cents: int) -> str:
    """Cents as the clinic shows money: "$1,234.50", "-$12.00"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{frac:02d}"


def plain(cents: int) -> str:
    """Cents as a plain figure for a CSV or a form's initial value: "1234.50"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def allocate(total_cents: int, parts: int) -> list[int]:
    """Share ``total_cents`` over ``parts`` in whole cents that add up to exactly ``total_cents``: each part gets
    the same share, and the cents left over go one each to the first parts (e.g. $1,000.00 over 3 sessions:
    333.34, 333.33, 333.33)."""
    if parts <= 0:
        raise ValueError("parts must be at least 1")
    if total_cents < 0:
        raise ValueError("total must not be negative")
    share, left = divmod(total_cents, parts)
    return [share + (1 if i < left else 0) for i in range(parts)]
