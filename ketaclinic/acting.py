"""The clinic (location) a request acts for, in an install that runs a network of clinics.

A person may work at several clinics of one network, with a role grant per clinic (``accounts.RoleGrant.clinic``).
Each request acts for one clinic: the one the person chose in the header (``clinic:switch``), if they hold a grant
there, else the first clinic they hold a grant at; a portal patient's is their own clinic, set when they sign in.
``ketaclinic.clinic.models.current_clinic`` answers that clinic, so every page, list, export and use case that
scopes by it is scoped to the acting clinic, and ``User.role_set`` answers the roles held at it.

Outside a request (a management command, the background worker, a test that calls a service) nothing acts: the
first clinic is current, and a person's roles are those they hold at any clinic. A use case that must act for a
given clinic there wraps itself in :func:`acting_at`.

Framework-free on purpose: the accounts app, below the clinic app, reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The session key of the clinic a staff member chose (checked against their grants at each request).
SESSION_KEY = "acting_clinic_id"
#: The session key of a portal patient's own clinic, written by the server when they sign in.
PATIENT_SESSION_KEY = "patient_clinic_id"

_acting: ContextVar[Callable[[], int | None] | None] = ContextVar("acting_clinic", default=None)


def acting_clinic_id() -> int | None:
    """The primary key of the clinic this request acts for, or None outside a request (see the module)."""
    resolve = _acting.get()
    return resolve() if resolve is not None else None


@contextmanager
def acting_at(clinic: int | Callable[[], int | None] | None) -> Iterator[None]:
    """Act for ``clinic`` (a primary key, or a function answering one, asked when first needed and remembered)
    until the block ends."""
    if clinic is None or isinstance(clinic, int):
        fixed = clinic

        def resolve() -> int | None:
            return fixed
    else:
        answered: list[int | None] = []
        ask = clinic

        def resolve() -> int | None:
            if not answered:
                answered.append(ask())
            return answered[0]

    token = _acting.set(resolve)
    try:
        yield
    finally:
        _acting.reset(token)
