"""Patient preparation and aftercare wording, shown in the portal and on instructions (pure; no Django).

No number appears that clinical.md does not give.
"""

from __future__ import annotations

PREPARATION_SOURCE = (
    "clinical.md §3b 'Patient preparation' row: no food for 2 h and no liquids for 30 min before dosing; nasal "
    "corticosteroid or decongestant at least 1 h before (C: spravato.com; mayoclinic.org). §1 'Escort / driving' "
    "row: no driving or machinery until the next day after a restful sleep; someone must drive the patient home "
    "(C label / S IV)."
)


def preparation_instructions(drug: str, route: str) -> list[str]:
    """What the patient should do before and after a dosing session, in plain words.

    Esketamine fasting times are the label's (clinical.md §3b, C). For IV/IM ketamine clinical.md gives no fasting
    time, so the patient is told to follow the clinic's own instructions rather than a made-up number.
    """
    steps: list[str] = []
    if drug == "esketamine" or route == "intranasal":
        steps += [
            "Do not eat for 2 hours before your appointment.",
            "Do not drink anything (including water) for 30 minutes before your appointment.",
            "If you use a nasal steroid or decongestant spray, use it at least 1 hour before your appointment.",
        ]
    else:
        steps.append("Follow the eating and drinking instructions your clinic gave you for infusion days; "
                     "call the clinic if you are not sure.")
    steps += [
        "Bring someone who can take you home: you must not leave alone.",
        "Do not drive or use machinery until the next day, after a restful sleep.",
        "Plan to rest for the remainder of the day.",
    ]
    return steps


def aftercare_instructions(drug: str, route: str) -> list[str]:
    """Standard discharge wording (clinical.md §1 'Escort / driving' row; C label / S IV)."""
    return [
        "Do not drive or use machinery until the next day, after a restful sleep.",
        "Someone should stay with you or nearby for the rest of the day.",
        "Call the clinic if anything worries you. In a crisis, call or text 988, or call 911.",
    ]
