"""Session-day rules: how often vitals are due, who is asked for a pregnancy test, how closely an independent
dose verification must match (weight, dose, vial strength, bag volume), which pre-dose reading holds the dose,
when the REMS form may say the vitals were acceptable, when a reading during dosing pauses the infusion and when
it may resume, the spacing of esketamine devices, and that an open suicidality task comes before any dose. Pure
functions; sources in each docstring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.guards import (
    CLEARED_BY_NOTHING,
    CLEARED_BY_PRESCRIBER,
    CLEARED_BY_REPEAT_READING,
    GuardDecision,
    Outcome,
    decision,
)
from ketaclinic.clinical.settings import resolve
from ketaclinic.clinical.vitals import Level

#: Independent dose verification: the second clinician's numbers must match the prepared ones to the rounding
#: step of the dose maths (weight 0.1 kg, dose 0.1 mg; ``ketaclinic.clinical.dosing``). A data-matching
#: tolerance, not a clinical threshold.
VERIFY_WEIGHT_TOLERANCE_KG = Decimal("0.1")
VERIFY_DOSE_TOLERANCE_MG = Decimal("0.1")


def vitals_interval_minutes(route: str, phase: str, settings: Mapping[str, object] | None = None) -> int:
    """Minutes between vitals readings for a route ("iv", "im", "intranasal") and phase ("during", "after").

    IV: ``vitals.iv_interval_during_minutes`` (10) during the infusion and ``vitals.iv_interval_after_minutes``
    (15) afterwards (clinical.md §1 'Vitals: when' row, Emory series, C). IM: ``vitals.im_interval_minutes``;
    esketamine: ``vitals.esketamine_interval_minutes`` (clinical.md gives no interval for either; unconfirmed
    settings whose default mirrors the IV after-infusion interval).
    """
    cfg = resolve(settings)
    if route == "iv":
        key = "vitals.iv_interval_during_minutes" if phase == "during" else "vitals.iv_interval_after_minutes"
    elif route == "im":
        key = "vitals.im_interval_minutes"
    elif route == "intranasal":
        key = "vitals.esketamine_interval_minutes"
    else:
        raise ClinicalInputError(f"Unknown route {route!r}; use iv, im or intranasal.", field="route")
    return int(cfg[key])  # type: ignore[arg-type]


def pregnancy_test_applies(sex_at_birth: str) -> bool:
    """Whether the pre-dose checklist asks for a pregnancy test result.

    clinical.md §2 pregnancy row (SPR-PI §8.1, C) makes pregnancy a contraindication to weigh, but gives no rule
    for whom to test; the cautious choice is to ask everyone not recorded male at birth (the nurse may record
    "not applicable", which is kept in the record)."""
    return sex_at_birth != "male"


def matches(entered: Decimal, prepared: Decimal, tolerance: Decimal) -> bool:
    """True when an independently entered value agrees with the prepared one within ``tolerance``."""
    return abs(Decimal(entered) - Decimal(prepared)) <= tolerance


# ------------------------------------------------------------------------------------------- verification
#: The vial strength and the bag volume are read off labels, so they must match exactly.
VERIFY_CONCENTRATION_TOLERANCE_MG_PER_ML = Decimal("0")
VERIFY_BAG_TOLERANCE_ML = Decimal("0")
VERIFICATION_SOURCE = (
    "Independent double check by a second clinician (issue 10 point 10; no clinical source): weight and dose to "
    "the rounding step of the dose maths (0.1 kg, 0.1 mg), vial strength and bag volume exactly (read off labels)"
)


@dataclass(frozen=True)
class DoseEntries:
    """The numbers a dose rests on, as prepared or as entered by the verifier (None = not applicable / blank)."""

    weight_kg: Decimal | None = None
    dose_mg: Decimal | None = None
    concentration_mg_per_mL: Decimal | None = None
    bag_volume_mL: Decimal | None = None


_VERIFY_FIELDS = (
    ("weight_kg", "weight", "kg", VERIFY_WEIGHT_TOLERANCE_KG, "the weight recorded today"),
    ("dose_mg", "dose", "mg", VERIFY_DOSE_TOLERANCE_MG, "the prepared dose"),
    ("concentration_mg_per_mL", "vial strength", "mg/mL", VERIFY_CONCENTRATION_TOLERANCE_MG_PER_ML,
     "the strength the dose was prepared from"),
    ("bag_volume_mL", "bag volume", "mL", VERIFY_BAG_TOLERANCE_ML, "the bag the dose was prepared in"),
)


def verification_mismatches(prepared: DoseEntries, entered: DoseEntries) -> dict[str, str]:
    """Compare the second clinician's own entries with the prepared ones: field -> message for every value that
    is missing or does not match (empty dict = verified).  Only fields the preparation has (not None) are checked:
    esketamine has a dose but no weight, strength or bag.  Tolerances: weight 0.1 kg, dose 0.1 mg, strength and
    bag volume exact.  Source: :data:`VERIFICATION_SOURCE` (rule ``session.verification``)."""
    errors: dict[str, str] = {}
    for name, label, unit, tol, what in _VERIFY_FIELDS:
        want = getattr(prepared, name)
        if want is None:
            continue
        got = getattr(entered, name)
        if got is None:
            errors[name] = f"Enter the {label} you read yourself, in {unit}."
        elif not matches(Decimal(got), Decimal(want), tol):
            errors[name] = (f"Your {label} {Decimal(got).normalize():f} {unit} does not match {what}. Check it with "
                            "the preparing clinician; the dose cannot start until both agree.")
    return errors


# ------------------------------------------------------------------------------------------- pre-dose hold
@dataclass(frozen=True)
class RecordedReading:
    """A stored vitals reading as the session rules see it: its id (increasing in recording order), its level
    (:class:`ketaclinic.clinical.vitals.Level` value) and whether it includes a full blood pressure."""

    id: int
    level: int
    has_bp: bool = True


PREDOSE_SOURCE = (
    "clinical.md §1 'Software implications': a recorded clinician override is required to proceed past a limit; "
    "§1 'Pre-dose BP guide' (SPR-PI §2/§5, U); §3c 'Form fields': vitals acceptable before administration (the "
    "question, C; answering it from the HOLD limits is the project's choice, U)"
)


def predose_hold(readings: Sequence[RecordedReading], covered_through_id: int | None) -> RecordedReading | None:
    """The pre-dose reading that holds the dose: the WORST reading recorded after the last vitals override
    (``covered_through_id``, the last reading that override covered; None = no override) when it is at HOLD or
    worse; among equally bad readings the latest.  A later normal reading does not erase it, and an override covers
    only the readings up to it.  Source: :data:`PREDOSE_SOURCE` (rule ``session.predose_hold``)."""
    uncovered = [r for r in readings if covered_through_id is None or r.id > covered_through_id]
    if not uncovered:
        return None
    worst = max(r.level for r in uncovered)
    if worst < Level.HOLD:
        return None
    return [r for r in uncovered if r.level == worst][-1]


def predose_vitals_acceptable(readings: Sequence[RecordedReading]) -> bool:
    """REMS form 'vital signs acceptable before administration': there is a pre-dose reading, the latest one has a
    blood pressure, and none was at HOLD or worse (an overridden hold was not within the limits).
    Source: :data:`PREDOSE_SOURCE` (rule ``session.predose_acceptable``)."""
    return bool(readings) and readings[-1].has_bp and max(r.level for r in readings) < Level.HOLD


def completion_vitals_acceptable(readings_after_dose: Sequence[RecordedReading]) -> bool:
    """REMS 'vital signs acceptable before completion': the last reading after dosing is within every limit
    (level OK). Source: :data:`PREDOSE_SOURCE` (rule ``session.completion_acceptable``)."""
    return bool(readings_after_dose) and readings_after_dose[-1].level == Level.OK


def dissociation_observed(cadss_totals: Sequence[int]) -> bool:
    """REMS 'dissociation': any CADSS rating of the session above 0 (any dissociative symptom endorsed).
    Source: clinical.md §3c 'Form fields' (the form asks, C); CADSS row (0 = none, S); counting any symptom is the
    project's reading (rule ``session.rems_dissociation``)."""
    return any(int(t) > 0 for t in cadss_totals)


# ------------------------------------------------------------------------------------------- suicide risk first
SAFETY_TASK_SOURCE = (
    "clinical.md §4 PHQ-9 row: item 9 above 0 triggers a suicide-risk workflow such as the C-SSRS (standard "
    "practice, U); §4 C-SSRS Screener row: high risk means safety precautions until a mental-health professional "
    "evaluates (Columbia triage guidelines, C)"
)


def safety_task_hold(open_tasks: Sequence[str]) -> str | None:
    """Why the dose may not start while the patient has an urgent suicidality task open (``open_tasks``: each one in
    words, e.g. when it was raised): a safety answer (PHQ-9 item 9 above 0, QIDS-SR16 item 12, MADRS item 10, a
    high-risk C-SSRS, words of self-harm in a message) puts the suicide-risk workflow before any dosing, and its task
    stays open until a clinician acknowledges it with what they did. None when none is open.
    Source: :data:`SAFETY_TASK_SOURCE` (rule ``session.safety_task_before_dosing``)."""
    if not open_tasks:
        return None
    which = "An urgent suicidality task is" if len(open_tasks) == 1 else f"{len(open_tasks)} urgent suicidality tasks are"
    return (f"{which} open ({'; '.join(open_tasks)}): a clinician completes the suicide-risk workflow (C-SSRS "
            "screener) and acknowledges the task before any dosing")


# ------------------------------------------------------------------------------------------- hold means hold
HOLD_SOURCE = (
    "Vital-sign levels of ketaclinic.clinical.vitals (HOLD = do not start, or pause; STOP = stop the session); "
    "clinical.md §1 'Software implications': a recorded clinician override to proceed past a limit (issue 10 "
    "point 9)"
)


def infusion_pause_required(level: int) -> GuardDecision:
    """A reading taken while the dose is running, at HOLD or STOP, means the infusion may not go on: BLOCK with
    ``details["action"]`` "pause" (HOLD) or "stop" (STOP) and the nurse's instruction; OK below HOLD.
    Source: :data:`HOLD_SOURCE` (rule ``session.hold_means_hold``)."""
    lvl = _level(level)
    if lvl >= Level.STOP:
        return decision(Outcome.BLOCK, "Vital signs at STOP: stop the infusion now and confirm the pump is stopped, "
                        "stay with the patient and call the prescriber.", "session.hold_means_hold", HOLD_SOURCE,
                        CLEARED_BY_PRESCRIBER, action="stop", level=int(lvl))
    if lvl >= Level.HOLD:
        return decision(Outcome.BLOCK, "Vital signs at HOLD: pause the infusion now and confirm the pump is paused. "
                        "Take a repeat reading; resume only when it is below the hold limits, or on a prescriber's "
                        "override.", "session.hold_means_hold", HOLD_SOURCE, CLEARED_BY_REPEAT_READING,
                        action="pause", level=int(lvl))
    return decision(Outcome.OK, "", "session.hold_means_hold", HOLD_SOURCE, action="continue", level=int(lvl))


def may_resume(
    *,
    paused_at: datetime,
    pause_level: int,
    readings: Sequence[tuple[datetime, int]],
    prescriber_override: bool = False,
) -> GuardDecision:
    """May a paused infusion resume?  Yes on a prescriber's override; otherwise only when the latest reading
    taken after ``paused_at`` is below HOLD.  A pause for a STOP-level reading, and a pause during which any reading
    reached STOP, needs the prescriber whatever a later reading says (STOP means stop the session).  ``readings``: (taken at, level) of the session's readings
    (pass local times: the message shows ``%H:%M`` of them).  Source: :data:`HOLD_SOURCE` (rule
    ``session.hold_means_hold``)."""
    pause = _level(pause_level)
    if not isinstance(prescriber_override, bool):
        raise ClinicalInputError("must be true or false", "prescriber_override")
    rule = "session.hold_means_hold"
    if prescriber_override:
        return decision(Outcome.OK, "Resuming on the prescriber's override.", rule, HOLD_SOURCE)
    if pause >= Level.STOP:
        return decision(Outcome.BLOCK, "The infusion was stopped for vital signs at STOP: only a prescriber can "
                        "decide to restart it. Call the prescriber.", rule, HOLD_SOURCE, CLEARED_BY_PRESCRIBER)
    after = sorted(((at, _level(lv)) for at, lv in readings if at > paused_at), key=lambda t: t[0])
    if not after:
        return decision(Outcome.BLOCK, "Take a repeat set of vital signs before resuming: no reading since the "
                        "pause. Keep the pump paused.", rule, HOLD_SOURCE, CLEARED_BY_REPEAT_READING)
    stops = [(t, lv) for t, lv in after if lv >= Level.STOP]
    if stops:
        at, lv = stops[0]
        return decision(Outcome.BLOCK, f"The reading at {at:%H:%M} during the pause was at STOP: only a prescriber "
                        "can decide to restart the infusion. Keep the pump stopped and call the prescriber.", rule,
                        HOLD_SOURCE, CLEARED_BY_PRESCRIBER, reading_at=at.isoformat(), level=int(lv))
    at, latest = after[-1]
    if latest >= Level.HOLD:
        return decision(Outcome.BLOCK, f"The repeat reading at {at:%H:%M} is still at {latest.name}: keep the pump "
                        "paused, re-check in a few minutes, or ask the prescriber.", rule, HOLD_SOURCE,
                        CLEARED_BY_REPEAT_READING, reading_at=at.isoformat(), level=int(latest))
    return decision(Outcome.OK, f"The repeat reading at {at:%H:%M} is below the hold limits: the infusion may resume.",
                    rule, HOLD_SOURCE, reading_at=at.isoformat(), level=int(latest))


# ------------------------------------------------------------------------------------------- esketamine devices
DEVICE_SOURCE = "clinical.md §3b 'Device' row: 28 mg per device, wait 5 min between devices (C)"


def next_device(
    given_at: Sequence[datetime], prepared_devices: int, at: datetime,
    settings: Mapping[str, object] | None = None,
) -> GuardDecision:
    """May the next esketamine device be used at ``at``?  BLOCK when all ``prepared_devices`` are given (record the
    end of dosing) or when less than ``dosing.esketamine_device_interval_minutes`` (5) has passed since the last
    one (``details["due_at"]`` is when it may be used; pass local times, the message shows ``%H:%M:%S`` of them).
    Source: :data:`DEVICE_SOURCE` (rule ``session.device_spacing``)."""
    if isinstance(prepared_devices, bool) or not isinstance(prepared_devices, int) or not 1 <= prepared_devices <= 3:
        raise ClinicalInputError(f"prepared devices must be 1-3, not {prepared_devices!r}", "prepared_devices")
    rule = "session.device_spacing"
    given = sorted(given_at)
    if len(given) >= prepared_devices:
        return decision(Outcome.BLOCK, f"All {prepared_devices} device(s) prepared have been given: record the end "
                        "of dosing.", rule, DEVICE_SOURCE, CLEARED_BY_NOTHING)
    gap = int(resolve(settings)["dosing.esketamine_device_interval_minutes"])  # type: ignore[arg-type]
    if given and at - given[-1] < timedelta(minutes=gap):
        due = given[-1] + timedelta(minutes=gap)
        return decision(Outcome.BLOCK, f"Wait {gap} min between devices: the next device is due at {due:%H:%M:%S}.",
                        rule, DEVICE_SOURCE, CLEARED_BY_NOTHING, due_at=due, device_number=len(given) + 1)
    return decision(Outcome.OK, "", rule, DEVICE_SOURCE, device_number=len(given) + 1)


def _level(value: object) -> Level:
    if isinstance(value, bool) or not isinstance(value, int) or value not in tuple(Level):
        raise ClinicalInputError(f"level must be 0-3 (OK, CAUTION, HOLD, STOP), not {value!r}", "level")
    return Level(value)


# ------------------------------------------------------------------------------------------- alerts at the chair
@dataclass(frozen=True)
class ChairAlert:
    """What a reading at HOLD or STOP asks of the nurse, in the nurse's words: a headline and the steps, in order.
    ``rule`` names the rulebook entry whose sources lie behind it (shown one click away, not in the alert)."""

    level: int
    headline: str
    steps: tuple[str, ...]
    call_prescriber: bool
    rule: str = "session.hold_means_hold"


def chair_alert(level: int, phase: str, settings: Mapping[str, object] | None = None, *,
                route: str = "iv") -> ChairAlert | None:
    """The alert for a reading at ``level`` taken in ``phase`` ("pre_dose", "during", "recovery"); None below HOLD.
    The actions follow the hold-means-hold rule (:data:`HOLD_SOURCE`); the repeat interval is the clinic's
    setting ``vitals.repeat_after_minutes`` (U: clinical.md §1 'Thresholds', one protocol, weak). During esketamine
    dosing (``route`` "intranasal") the step is about the next device, not a pump."""
    lvl = _level(level)
    if phase not in ("pre_dose", "during", "recovery"):
        raise ClinicalInputError("phase must be pre_dose, during or recovery", "phase")
    if lvl < Level.HOLD:
        return None
    n = int(resolve(settings)["vitals.repeat_after_minutes"])  # type: ignore[arg-type]
    repeat = f"Repeat the reading in {n} minutes, with the patient seated and calm."
    if lvl >= Level.STOP:
        first = {"pre_dose": "Do not give the dose.",
                 "during": ("Give no further device, and confirm below that dosing is stopped."
                            if route == "intranasal" else
                            "Stop the infusion now, and confirm below that the pump is stopped."),
                 "recovery": "Stay with the patient."}[phase]
        return ChairAlert(int(lvl), "Vital signs at STOP", (
            first, "Check airway, breathing and how the patient feels; stay with them.",
            "Call the prescriber now: only the prescriber can decide what happens next.", repeat), True)
    steps = {
        # the dose waits for a prescriber's override of this reading even after a normal repeat (predose_hold: a
        # later normal reading does not erase it)
        "pre_dose": ("Do not start the dose yet.", repeat,
                     "Call the prescriber: the dose starts only once a prescriber has reviewed this reading and "
                     "overridden it with a reason, even if the repeat is below the hold limits."),
        "during": (("Dosing is paused: do not give the next device, and confirm the pause below."
                    if route == "intranasal" else "The infusion is paused: pause the pump now, and confirm it below."),
                   repeat,
                   "Resume when a repeat reading is below the hold limits; if it stays high, call the prescriber."),
        "recovery": ("Keep observing; the patient does not go home at this reading.", repeat,
                     "If it stays at HOLD, call the prescriber."),
    }[phase]
    return ChairAlert(int(lvl), "Vital signs at HOLD", steps, phase == "pre_dose")
