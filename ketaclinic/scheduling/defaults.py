"""The appointment types a clinic starts with. The lengths are booking defaults the clinic changes to suit
itself (clinic data, not clinical rules); a treatment session under a signed order is booked from the order,
whose chair time is worked out from the order itself."""

from __future__ import annotations

#: code, name, default minutes, roles that may be the clinician, room kinds
DEFAULT_TYPES: tuple[tuple[str, str, int, str, str], ...] = (
    ("consult", "Consult / psychiatric evaluation", 60, "prescriber", "consult"),
    ("follow_up", "Follow-up", 30, "prescriber,nurse", "consult"),
    ("integration", "Integration session", 50, "therapist", "therapy"),
    ("treatment", "Treatment session (chair time)", 120, "nurse,prescriber", "infusion"),
    ("esketamine", "Esketamine session (chair time)", 150, "nurse,prescriber", "intranasal"),
)


def label_for(name: str, minutes: int) -> str:
    return f"{name} · {minutes} min by default (the clinic's choice)"


#: Chair time for a dosing session: booked from a prescriber's signed order (treatments), never by the patient in
#: the portal, so these types cannot be marked self-bookable.
CHAIR_TIME = ("treatment", "esketamine")
NOT_SELF_BOOKABLE_WHY = (
    "Dosing sessions (ketamine infusions or injections, esketamine nasal spray) are not booked here: each one "
    "follows your prescriber's signed treatment order, which sets how far apart the sessions must be. The clinic "
    "books them with you.")
