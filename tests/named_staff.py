"""Staff whose names latin-1 cannot spell, for the tests that read the names back out of a printed PDF (the
treatment documents, the DEA records)."""

from __future__ import annotations

from tests.conftest import ROLE_VALUES

#: The prescriber's and the nurse's names and credentials; the other roles have neither.
STAFF_NAMES = {"prescriber": "Søren Ørsted", "nurse": "Zofia Żółć"}
CREDENTIALS = {"prescriber": "MD", "nurse": "RN"}


def named_staff(make_user) -> dict:
    """One user per role, keyed by role (``make_user``: the conftest fixture); the prescriber and the nurse carry
    :data:`STAFF_NAMES` and :data:`CREDENTIALS`."""
    return {role: make_user(role, username=role, display_name=STAFF_NAMES.get(role, ""),
                            credentials=CREDENTIALS.get(role, ""))
            for role in ROLE_VALUES}
