"""Prescriber identifiers: DEA registration number and NPI.

A passing check only shows that a number is well formed; registration status must be verified
separately (clinical.md §6, "DEA registration number" paragraph).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ClinicalInputError

DEA_SOURCE = (
    "clinical.md §6 'DEA registration number' paragraph (status S: theinfolist DEA_Number; takerx.com/verify.html)"
)
NPI_SOURCE = (
    "CMS/NPPES NPI check-digit rule: Luhn (ISO/IEC 7812) over the prefix 80840 plus the first 9 digits "
    "(not in clinical.md; issue 3 item 8)"
)

#: First letter of a DEA number -> registrant type, as listed in clinical.md §6 (status S).
DEA_REGISTRANT_TYPES: dict[str, str] = {
    "A": "practitioner / hospital / clinic / pharmacy",
    "B": "practitioner / hospital / clinic / pharmacy",
    "F": "practitioner / hospital / clinic / pharmacy",
    "G": "practitioner / hospital / clinic / pharmacy",
    "M": "mid-level practitioner",
    "P": "manufacturer / distributor / researcher",
    "R": "manufacturer / distributor / researcher",
}
#: Former DATA-waiver prefix (clinical.md §6): recognised, but not accepted as a current registration.
DEA_RETIRED_TYPES: dict[str, str] = {"X": "former DATA-waiver prefix (no longer issued)"}

_DEA_RE = re.compile(r"^([A-Z])([A-Z9])(\d{7})(?:-([A-Z0-9]{1,20}))?$", re.ASCII)  # ASCII digits only


@dataclass(frozen=True)
class DeaCheck:
    """Result of :func:`check_dea_number`: ``problems`` is empty exactly when ``valid`` is True."""

    valid: bool
    registrant_type: str | None
    problems: tuple[str, ...]


def _clean_dea(dea: str) -> str:
    if not isinstance(dea, str):
        raise ClinicalInputError(f"a DEA number must be text, not {type(dea).__name__}", "dea_number")
    return "".join(dea.split()).upper()


def dea_check_digit(six_digits: str) -> int:
    """Check digit for the first six digits: ((d1+d3+d5) + 2*(d2+d4+d6)) mod 10.

    Source: clinical.md §6 'DEA registration number' (S). Worked example AP5836727: (5+3+7)+2*(8+6+2)=47 -> 7.
    """
    if len(six_digits) != 6 or not (six_digits.isascii() and six_digits.isdigit()):
        raise ClinicalInputError("the check digit needs exactly six digits", "dea_number")
    d = [int(c) for c in six_digits]
    return ((d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])) % 10


def check_dea_number(dea: str, last_name: str | None = None, business: bool = False) -> DeaCheck:
    """Check a DEA registration number's format, registrant-type letter, second letter and check digit.

    Format: two letters + seven digits, optionally ``-suffix`` for a supervised prescriber. The second letter
    is the initial of ``last_name`` (checked when given), or ``9`` for a business-address registrant
    (``business=True``). Source: clinical.md §6 'DEA registration number' (status S).
    """
    text = _clean_dea(dea)
    problems: list[str] = []
    if not text:
        return DeaCheck(False, None, ("DEA number is empty",))
    m = _DEA_RE.match(text)
    if not m:
        if len(text.split("-")[0]) != 9:
            problems.append(
                f"DEA number must be 2 letters A-Z followed by 7 digits 0-9 (got {len(text.split('-')[0])} characters)"
            )
        else:
            problems.append("DEA number must be 2 letters A-Z followed by 7 digits 0-9, with an optional '-suffix'")
        return DeaCheck(False, None, tuple(problems))
    first, second, digits, _suffix = m.groups()
    registrant_type = DEA_REGISTRANT_TYPES.get(first)
    if first in DEA_RETIRED_TYPES:
        problems.append(f"first letter '{first}' is the {DEA_RETIRED_TYPES[first]}, not a current registration")
    elif registrant_type is None:
        allowed = ", ".join(sorted(DEA_REGISTRANT_TYPES))
        problems.append(f"first letter '{first}' is not a recognised registrant type (allowed: {allowed})")
    if business:
        if second != "9":
            problems.append(f"second character must be '9' for a business-address registrant (got '{second}')")
    elif last_name is not None:
        initial = next((c for c in last_name.strip().upper() if c.isalpha()), None)
        if initial is None:
            raise ClinicalInputError("last name has no letters to compare with the DEA number", "last_name")
        if second != initial:
            problems.append(f"second letter '{second}' does not match the last-name initial '{initial}'")
    expected = dea_check_digit(digits[:6])
    if expected != int(digits[6]):
        problems.append(f"check digit is {digits[6]} but the checksum gives {expected}")
    return DeaCheck(not problems, registrant_type, tuple(problems))


def normalise_dea_number(dea: str) -> str:
    """Strip spaces and upper-case a DEA number; raise :class:`ClinicalInputError` if it is not valid.

    Source: clinical.md §6 'DEA registration number' (status S).
    """
    text = _clean_dea(dea)
    result = check_dea_number(text)
    if not result.valid:
        raise ClinicalInputError("; ".join(result.problems), "dea_number")
    return text


def luhn_check_digit(digits: str) -> int:
    """The Luhn (mod 10) check digit of ``digits``: the digit that, appended, makes the whole pass the Luhn check
    (every second digit from the right doubled, 10-18 counted as their digit sum). The NPI's check digit is this
    over "80840" + its first nine digits; the clinic's MRNs end in it too, so a mistyped one is caught."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return (10 - total % 10) % 10


def npi_check_digit(nine_digits: str) -> int:
    """Luhn check digit of "80840" + the first nine NPI digits (CMS NPI check-digit rule)."""
    if len(nine_digits) != 9 or not (nine_digits.isascii() and nine_digits.isdigit()):  # "²".isdigit() is True
        raise ClinicalInputError("the NPI check digit needs exactly nine digits 0-9", "npi")
    return luhn_check_digit("80840" + nine_digits)


def check_npi(npi: str) -> str:
    """Return the normalised 10-digit NPI, or raise :class:`ClinicalInputError` saying what is wrong.

    Spaces and hyphens are removed. Source: CMS NPI check-digit rule (Luhn over 80840 + first 9 digits).
    Worked example: 123456789 -> check digit 3, so 1234567893 is valid.
    """
    if not isinstance(npi, str):
        raise ClinicalInputError(f"an NPI must be text, not {type(npi).__name__}", "npi")
    text = "".join(npi.split()).replace("-", "")
    if not text:
        raise ClinicalInputError("NPI is empty", "npi")
    if not text.isdigit() or not text.isascii():
        raise ClinicalInputError("NPI must contain digits only", "npi")
    if len(text) != 10:
        raise ClinicalInputError(f"NPI must be exactly 10 digits (got {len(text)})", "npi")
    expected = npi_check_digit(text[:9])
    if int(text[9]) != expected:
        raise ClinicalInputError(f"NPI check digit is {text[9]} but the Luhn check gives {expected}", "npi")
    return text


def npi_is_valid(npi: str) -> bool:
    """True when ``npi`` is 10 digits with a correct Luhn check digit over 80840 + the first nine digits."""
    try:
        check_npi(npi)
    except ClinicalInputError:
        return False
    return True
