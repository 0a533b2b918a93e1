"""The builders moved to :mod:`tests.factories` (one set for the whole suite); kept importable from here."""

from tests.factories import *  # noqa: F403
from tests.factories import (  # noqa: F401
    ESK,
    IM,
    IV,
    actor,
    book_now,
    checked_in,
    make_eligible,
    make_order,
    make_rooms,
    normal_vitals,
    prechecked,
    ready_to_start,
)
