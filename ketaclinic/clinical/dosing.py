"""Dose maths for IV infusion, IM injection and intranasal esketamine, with hand-checkable working.

Rounding (stated in every ``working``): ROUND_HALF_UP of the decimal value; weight to 0.1 kg, dose to 0.1 mg,
drug volume to 0.01 mL, pump rate to 0.1 mL/h.  Sources: clinical.md §1 (IV), §3a (IM), §3b (esketamine);
ranges and ceilings are clinic settings (see :mod:`ketaclinic.clinical.settings`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from .errors import ClinicalInputError
from .guards import (
    CLEARED_BY_NOTHING,
    CLEARED_BY_PRESCRIBER,
    CLEARED_BY_SECOND_CLINICIAN,
    GuardDecision,
    Outcome,
    decision,
)
from .products import KETAMINE, require_stocked
from .settings import SETTINGS_BY_KEY, resolve

LB_PER_KG = 2.2046  # unit definition (1 kg = 2.20462 lb)
ESKETAMINE_DEVICE_MG = 28  # clinical.md §3b 'Device' row: 28 mg per device (C)
ROUNDING_RULE = "Rounding: half up; weight 0.1 kg, dose 0.1 mg, volume 0.01 mL, rate 0.1 mL/h."
#: The ketamine label's anaesthetic induction infusion rate. A dose running this fast or faster is an
#: anaesthetic induction, never a psychiatric infusion: a hard limit, not a setting.
INDUCTION_RATE_MG_PER_KG_PER_MIN = Decimal("0.5")
INDUCTION_RATE_SOURCE = (
    "Ketalar (ketamine hydrochloride injection) PI, Dosage and Administration, induction: 1-2 mg/kg IV 'at a rate "
    "of 0.5 mg/kg/min' as an alternative to a 1-4.5 mg/kg injection over 60 seconds (label text as quoted by "
    "secondary summaries, e.g. droracle.ai and bestinmeds.com; primary PI page not read here: status S). Not in "
    "clinical.md, which gives 0.5 mg/kg over 40 min (0.0125 mg/kg/min) as the psychiatric standard (§1, C)"
)
#: Vials at this strength or stronger must be diluted before IV use (the label names the 100 mg/mL vial).
DILUTION_REQUIRED_MG_PER_ML = Decimal(100)
DILUTION_SOURCE = (
    "Ketalar PI §2.1 (rev. 10/2024, DailyMed set 46dab560-8ecd-4d92-8c92-6baa2310b09b via fda.report): 'Do not "
    "administer the 100 mg/mL concentration of KETALAR intravenously without proper dilution'; §2.3 as quoted at "
    "inpharmd.com: dilute with an equal volume of Sterile Water for Injection, 0.9% Sodium Chloride or 5% Dextrose "
    "and use immediately (C for the requirement to dilute; S for the equal volume, read only through that secondary "
    "source; not in clinical.md)"
)
SYRINGE_STEP_ML = Decimal("0.01")
ADJUSTED_WEIGHT_NOTE = (
    "Adjusted body weight = IBW + factor x (actual - IBW), IBW by Devine (male 50 kg, female 45.5 kg, + 2.3 kg per "
    "inch over 60 in). Standard pharmacy formula, NOT in clinical.md: unconfirmed; clinician to verify."
)


@dataclass(frozen=True)
class DoseCalculation:
    """A calculated dose. ``working`` lists each step with its numbers and rounding so a nurse can check it.

    ``dosing_weight_kg``, ``drug_mL`` and ``concentration_mg_per_mL`` are None for esketamine (fixed-dose
    devices, not weight-based; the device volume is not in the reference).
    """

    route: str
    weight_basis: str
    dosing_weight_kg: float | None
    dose_mg_per_kg: float | None
    total_mg: float
    drug_mL: float | None
    concentration_mg_per_mL: float | None
    bag_volume_mL: float | None
    minutes: int | None
    rate_mL_per_h: float | None
    devices: int | None
    working: tuple[str, ...]
    warnings: tuple[str, ...]
    needs_override: bool
    override_reason: str | None
    #: The dose in the syringe: drug mL (rounded to what a syringe measures) x vial mg/mL. This, not
    #: ``total_mg``, is the dose to record (issue 10 point 4). For esketamine: devices x 28 mg.
    measured_mg: float | None = None

    @property
    def blocked(self) -> bool:
        """True when the dose needs an override reason and none was given: do not give it yet."""
        return self.needs_override and not self.override_reason


def _dec(value: float | int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def _round(value: float | Decimal, step: str) -> float:
    """Round half up on the decimal value (so 42.45 -> 42.5, as a nurse would by hand)."""
    return float(_dec(value).quantize(Decimal(step), rounding=ROUND_HALF_UP))


def _number(value: object, name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClinicalInputError(f"must be a number in {unit}, not {value!r}", name)
    v = float(value)
    if not math.isfinite(v):
        raise ClinicalInputError(f"must be a finite number in {unit}", name)
    return v


def _plausible_weight(weight_kg: object, cfg: Mapping[str, object], name: str = "weight_kg") -> float:
    w = _number(weight_kg, name, "kg")
    lo, hi = float(cfg["dosing.min_weight_kg"]), float(cfg["dosing.max_weight_kg"])  # type: ignore[arg-type]
    if w <= 0:
        raise ClinicalInputError(f"weight {w:g} kg is not possible", name)
    if w < lo:
        raise ClinicalInputError(f"weight {w:g} kg is below the plausible adult minimum {lo:g} kg; re-weigh", name)
    if w > hi:
        hint = f" ({w / LB_PER_KG:.1f} kg if it was pounds)" if w / LB_PER_KG <= hi else ""
        raise ClinicalInputError(
            f"weight {w:g} kg is above the plausible maximum {hi:g} kg: was it entered in pounds?{hint}", name
        )
    return w


def check_weight(
    weight_kg: float, previous_weight_kg: float | None, settings: Mapping[str, object] | None = None
) -> tuple[str, ...]:
    """Warnings about a weight: change of more than the setting (10%) since the last visit, or a value that
    looks like pounds entered as kilograms (about previous x 2.2046, or the reverse).

    Absurd weights (<= 0, below or above the plausible limits) raise :class:`ClinicalInputError`.
    Sources: issue 3 (10% rule, unconfirmed); 2.2046 lb/kg is a unit definition.
    """
    cfg = resolve(settings)
    w = _plausible_weight(weight_kg, cfg)
    if previous_weight_kg is None:
        return ()
    prev = _plausible_weight(previous_weight_kg, cfg, "previous_weight_kg")
    warnings = []
    tol = float(cfg["dosing.lb_as_kg_tolerance_percent"]) / 100
    ratio = w / prev
    if abs(ratio / LB_PER_KG - 1) <= tol:
        warnings.append(
            f"Weight {w:g} kg is about {ratio:.2f} x the previous {prev:g} kg: it looks like pounds entered as "
            f"kilograms ({w:g} lb = {w / LB_PER_KG:.1f} kg). Re-weigh before dosing."
        )
    elif abs((1 / ratio) / LB_PER_KG - 1) <= tol:
        warnings.append(
            f"Previous weight {prev:g} kg is about {1 / ratio:.2f} x today's {w:g} kg: the previous entry may "
            "have been in pounds. Check the record."
        )
    limit = float(cfg["dosing.weight_change_flag_percent"])
    change = (w - prev) / prev * 100
    if abs(change) > limit:
        warnings.append(
            f"Weight changed {change:+.1f}% since the last visit ({prev:g} -> {w:g} kg), more than {limit:g}%: "
            "confirm the weight."
        )
    return tuple(warnings)


_WEIGHT_SOURCE = (
    "Issue 10 point 1 (software plausibility check, no clinical source): 1 kg = 2.2046 lb is a unit definition; "
    "the change tolerance and BMI range are unconfirmed clinic settings"
)


def _setting_note(key: str) -> str:
    return "" if SETTINGS_BY_KEY[key].confirmed else " (unconfirmed clinic setting)"


def weight_plausibility(
    weight_kg: float | Decimal,
    *,
    previous_weight_kg: float | Decimal | None = None,
    height_cm: float | Decimal | None = None,
    second_clinician_confirmed: bool = False,
    settings: Mapping[str, object] | None = None,
) -> GuardDecision:
    """Does today's weight look right? A weight that looks wrong BLOCKS dose preparation until it is re-measured or
    a second clinician confirms it; it is not a warning.

    Blocks when: the weight is about 2.2046 x the previous one (pounds typed as kg, within
    ``dosing.lb_as_kg_tolerance_percent``) or the previous one was about 2.2046 x today's; the weight changed by
    more than ``dosing.weight_change_flag_percent`` since the previous weight; or, with no previous weight, the BMI
    from ``height_cm`` is outside ``dosing.min_bmi``-``dosing.max_bmi`` (a weight in pounds roughly doubles the BMI:
    70 kg at 175 cm is 22.9, "154 kg" is 50.3); with neither a previous weight nor a height there is nothing to check
    against, which also blocks.  ``second_clinician_confirmed=True`` (a second clinician has re-weighed and confirmed)
    clears those blocks.  A weight outside the absolute limits (``dosing.min_weight_kg``/``max_weight_kg``) or a
    height outside 100-250 cm blocks and cannot be confirmed.  Source: :data:`_WEIGHT_SOURCE` (rule
    ``dosing.weight_checks``, status U).
    """
    cfg = resolve(settings)
    rule = "dosing.weight_checks"
    w = _number(float(weight_kg) if isinstance(weight_kg, Decimal) else weight_kg, "weight_kg", "kg")
    lo, hi = float(cfg["dosing.min_weight_kg"]), float(cfg["dosing.max_weight_kg"])  # type: ignore[arg-type]
    if not isinstance(second_clinician_confirmed, bool):
        raise ClinicalInputError("must be true or false", "second_clinician_confirmed")
    if not lo <= w <= hi:
        hint = f" If it was pounds, {w:g} lb = {w / LB_PER_KG:.1f} kg." if w > hi and w / LB_PER_KG <= hi else ""
        return decision(Outcome.BLOCK, f"A weight of {w:g} kg is outside what the clinic accepts ({lo:g}-{hi:g} kg)."
                        f"{hint} Weigh the patient again on the clinic scale and enter the weight in kilograms.",
                        rule, _WEIGHT_SOURCE, CLEARED_BY_NOTHING, weight_kg=w)
    problems: list[str] = []
    facts: dict[str, object] = {"weight_kg": w}
    if previous_weight_kg is not None:
        prev = _number(float(previous_weight_kg) if isinstance(previous_weight_kg, Decimal) else previous_weight_kg,
                       "previous_weight_kg", "kg")
        if prev <= 0:
            raise ClinicalInputError(f"previous weight {prev:g} kg is not possible", "previous_weight_kg")
        facts["previous_weight_kg"] = prev
        tol = float(cfg["dosing.lb_as_kg_tolerance_percent"]) / 100  # type: ignore[arg-type]
        ratio = w / prev
        if abs(ratio / LB_PER_KG - 1) <= tol:
            problems.append(f"{w:g} kg is {ratio:.2f} times the previous weight of {prev:g} kg: it looks like pounds "
                            f"typed as kilograms ({w:g} lb = {w / LB_PER_KG:.1f} kg).")
        elif abs((1 / ratio) / LB_PER_KG - 1) <= tol:
            problems.append(f"The previous weight {prev:g} kg is {1 / ratio:.2f} times today's {w:g} kg: the previous "
                            "entry may have been in pounds; have it corrected in the chart.")
        else:
            limit = float(cfg["dosing.weight_change_flag_percent"])  # type: ignore[arg-type]
            change = (w - prev) / prev * 100
            facts["change_percent"] = round(change, 1)
            if abs(change) > limit:
                problems.append(f"The weight changed by {change:+.1f}% since the previous weight ({prev:g} kg -> "
                                f"{w:g} kg), more than the clinic's {limit:g}%"
                                f"{_setting_note('dosing.weight_change_flag_percent')}.")
    elif height_cm is not None:
        h = _number(float(height_cm) if isinstance(height_cm, Decimal) else height_cm, "height_cm", "cm")
        if not 100 <= h <= 250:
            return decision(Outcome.BLOCK, f"A height of {h:g} cm is not plausible (100-250 cm): measure the height "
                            "again in centimetres before the weight can be checked.", rule, _WEIGHT_SOURCE,
                            CLEARED_BY_NOTHING, height_cm=h)
        bmi = w / (h / 100) ** 2
        low, high = float(cfg["dosing.min_bmi"]), float(cfg["dosing.max_bmi"])  # type: ignore[arg-type]
        facts.update(height_cm=h, bmi=round(bmi, 1))
        if not low <= bmi <= high:
            pounds = f" Was it entered in pounds ({w:g} lb = {w / LB_PER_KG:.1f} kg)?" if bmi > high else ""
            problems.append(f"{w:g} kg at {h:g} cm gives a BMI of {bmi:.1f}, outside the plausible adult range "
                            f"{low:g}-{high:g}{_setting_note('dosing.max_bmi')}.{pounds}")
    else:
        problems.append("There is no earlier weight and no height on file to check this weight against. Record the "
                        "patient's height.")
    if not problems:
        return decision(Outcome.OK, "", rule, _WEIGHT_SOURCE, **facts)
    if second_clinician_confirmed:
        return decision(Outcome.OK, "Weight confirmed by a second clinician despite: " + " ".join(problems), rule,
                        _WEIGHT_SOURCE, **facts)
    return decision(Outcome.BLOCK, " ".join(problems) + " Do not prepare the dose: weigh the patient again, or have "
                    "a second clinician re-weigh and confirm the weight.", rule, _WEIGHT_SOURCE,
                    CLEARED_BY_SECOND_CLINICIAN, **facts)


def infusion_rate_check(
    dose_mg_per_kg: float | Decimal, minutes: int, *, settings: Mapping[str, object] | None = None
) -> GuardDecision:
    """How fast the dose runs, in mg/kg/min, against the label's induction rate and the clinic's maximum.

    At or above 0.5 mg/kg/min (:data:`INDUCTION_RATE_MG_PER_KG_PER_MIN`, the ketamine label's anaesthetic
    induction rate) the dose is refused and nothing can clear it: 1.0 mg/kg over 2 min is exactly that rate.
    Faster than ``dosing.iv_max_rate_mg_per_kg_per_min`` (default 0.75 mg/kg over 40 min = 0.01875 mg/kg/min, the
    fastest the clinic's own default range allows) needs a prescriber's override.  Sources:
    :data:`INDUCTION_RATE_SOURCE` (rule ``dosing.infusion_rate``).
    """
    cfg = resolve(settings)
    dose = _dec(_number(float(dose_mg_per_kg) if isinstance(dose_mg_per_kg, Decimal) else dose_mg_per_kg,
                        "dose_mg_per_kg", "mg/kg"))
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ClinicalInputError(f"infusion time must be whole minutes above 0, not {minutes!r}", "minutes")
    if dose <= 0:
        raise ClinicalInputError(f"dose {dose} mg/kg must be above 0", "dose_mg_per_kg")
    rate = dose / minutes
    shown = f"{dose.normalize():f} mg/kg over {minutes} min runs at {float(rate):.4g} mg/kg/min"
    return _rate_decision(rate, shown, "lengthen the infusion (the standard is 0.5 mg/kg over 40 min) or lower the "
                          "dose", cfg)


def _rate_decision(rate: Decimal, shown: str, remedy: str, cfg: Mapping[str, object]) -> GuardDecision:
    clinic_max = _dec(float(cfg["dosing.iv_max_rate_mg_per_kg_per_min"]))  # type: ignore[arg-type]
    facts = {"rate_mg_per_kg_per_min": float(rate), "clinic_max": float(clinic_max),
             "induction_rate": float(INDUCTION_RATE_MG_PER_KG_PER_MIN)}
    if rate >= INDUCTION_RATE_MG_PER_KG_PER_MIN:
        return decision(Outcome.BLOCK, f"{shown}: that is the anaesthetic induction rate in the ketamine label "
                        f"({INDUCTION_RATE_MG_PER_KG_PER_MIN} mg/kg/min) or faster, and cannot be given. Ask the "
                        f"prescriber to {remedy}.", "dosing.infusion_rate", INDUCTION_RATE_SOURCE,
                        CLEARED_BY_NOTHING, **facts)
    if rate > clinic_max:
        return decision(Outcome.NEEDS_OVERRIDE, f"{shown}, faster than the clinic's maximum {float(clinic_max):g} "
                        f"mg/kg/min{_setting_note('dosing.iv_max_rate_mg_per_kg_per_min')}. {remedy.capitalize()}, "
                        "or a prescriber must give a reason to run it this fast.", "dosing.infusion_rate",
                        SETTINGS_BY_KEY["dosing.iv_max_rate_mg_per_kg_per_min"].source, CLEARED_BY_PRESCRIBER,
                        **facts)
    return decision(Outcome.OK, "", "dosing.infusion_rate", INDUCTION_RATE_SOURCE, **facts)


def pump_rate_check(
    rate_mL_per_h: float | Decimal,
    *,
    infused_volume_mL: float | Decimal,
    dose_mg: float | Decimal,
    weight_kg: float | Decimal,
    settings: Mapping[str, object] | None = None,
) -> GuardDecision:
    """The same speed limits as :func:`infusion_rate_check`, for a pump rate set or changed during the infusion:
    mg/kg/min = (mL/h / 60) x (dose mg / infused volume mL) / kg.  A pump rate that would run the drug at the
    label's induction rate (0.5 mg/kg/min) or faster is refused whatever the override; faster than the clinic's
    maximum needs a prescriber.  Source: :data:`INDUCTION_RATE_SOURCE` (rule ``dosing.infusion_rate``).
    """
    cfg = resolve(settings)
    values = []
    for name, value, unit in (("rate_mL_per_h", rate_mL_per_h, "mL/h"), ("infused_volume_mL", infused_volume_mL, "mL"),
                              ("dose_mg", dose_mg, "mg"), ("weight_kg", weight_kg, "kg")):
        v = _dec(_number(float(value) if isinstance(value, Decimal) else value, name, unit))
        if v <= 0:
            raise ClinicalInputError(f"must be above 0 {unit}", name)
        values.append(v)
    ml_h, volume, mg, kg = values
    rate = ml_h / 60 * (mg / volume) / kg
    shown = (f"A pump rate of {ml_h.normalize():f} mL/h ({mg.normalize():f} mg in {volume.normalize():f} mL, "
             f"{kg.normalize():f} kg) runs at {float(rate):.4g} mg/kg/min")
    return _rate_decision(rate, shown, "set a slower pump rate", cfg)


def iv_dilution_check(
    concentration_mg_per_mL: float | Decimal, *, drug_mL: float | Decimal, diluent_mL: float | Decimal
) -> GuardDecision:
    """Is a 100 mg/mL ketamine preparation for IV use diluted as the label requires?

    The label forbids giving the 100 mg/mL strength intravenously without dilution, and says to dilute it with an
    equal volume of sterile water, 0.9% sodium chloride or 5% dextrose; so ``diluent_mL`` must be at least
    ``drug_mL`` (final strength at most 50 mg/mL).  Weaker vials carry no such requirement.  A refusal is a BLOCK
    that nothing clears: prepare it again, diluted.  Source: :data:`DILUTION_SOURCE` (rule ``dosing.dilution``).
    """
    conc = _dec(_number(float(concentration_mg_per_mL) if isinstance(concentration_mg_per_mL, Decimal)
                        else concentration_mg_per_mL, "concentration_mg_per_mL", "mg/mL"))
    drug = _dec(_number(float(drug_mL) if isinstance(drug_mL, Decimal) else drug_mL, "drug_mL", "mL"))
    diluent = _dec(_number(float(diluent_mL) if isinstance(diluent_mL, Decimal) else diluent_mL, "diluent_mL", "mL"))
    if conc <= 0 or drug <= 0 or diluent < 0:
        raise ClinicalInputError("concentration and drug volume must be above 0, diluent 0 or more", "drug_mL")
    final = conc * drug / (drug + diluent)
    facts = {"final_mg_per_mL": float(final), "vial_mg_per_mL": float(conc)}
    if conc >= DILUTION_REQUIRED_MG_PER_ML and diluent < drug:
        return decision(Outcome.BLOCK, f"Ketamine {conc.normalize():f} mg/mL must not be given IV undiluted (label): "
                        f"{drug.normalize():f} mL with {diluent.normalize():f} mL of diluent is "
                        f"{float(final):.3g} mg/mL. Dilute it with at least an equal volume of sterile water, 0.9% "
                        "sodium chloride or 5% dextrose (or add it to the infusion bag), use it at once, and record "
                        "the preparation again.", "dosing.dilution", DILUTION_SOURCE, CLEARED_BY_NOTHING, **facts)
    return decision(Outcome.OK, "", "dosing.dilution", DILUTION_SOURCE, **facts)


@dataclass(frozen=True)
class MeasuredDose:
    """The dose as it will be in the syringe: ``volume_mL`` rounded to the syringe step, ``mg_as_measured`` =
    volume x concentration exactly; ``difference_mg`` = measured - ordered."""

    ordered_mg: Decimal
    concentration_mg_per_mL: Decimal
    volume_mL: Decimal
    mg_as_measured: Decimal
    difference_mg: Decimal


def measured_dose(
    ordered_mg: float | Decimal, concentration_mg_per_mL: float | Decimal, *, step_mL: Decimal = SYRINGE_STEP_ML
) -> MeasuredDose:
    """Volume to draw (ordered mg / mg/mL, rounded half up to ``step_mL``, 0.01 mL by default) and the mg that
    volume holds (volume x mg/mL, exact Decimal).  Record ``mg_as_measured``, so the record and the syringe agree;
    it differs from the order by at most half a syringe step (concentration x step / 2 mg).  A dose too small to
    measure at this strength (volume rounds to 0) is refused.  Source: arithmetic (rule ``dosing.measured_dose``).
    """
    mg = _dec(_number(float(ordered_mg) if isinstance(ordered_mg, Decimal) else ordered_mg, "ordered_mg", "mg"))
    conc = _dec(_number(float(concentration_mg_per_mL) if isinstance(concentration_mg_per_mL, Decimal)
                        else concentration_mg_per_mL, "concentration_mg_per_mL", "mg/mL"))
    if not isinstance(step_mL, Decimal) or not step_mL.is_finite() or step_mL <= 0:
        raise ClinicalInputError("syringe step must be a Decimal above 0 mL", "step_mL")
    if mg <= 0 or conc <= 0:
        raise ClinicalInputError("dose and concentration must be above 0", "ordered_mg")
    volume = (mg / conc).quantize(step_mL, rounding=ROUND_HALF_UP)
    if volume <= 0:
        raise ClinicalInputError(f"{mg.normalize():f} mg at {conc.normalize():f} mg/mL is less than the smallest "
                                 f"volume a syringe measures ({step_mL} mL): use a weaker vial", "ordered_mg")
    measured = volume * conc
    return MeasuredDose(mg, conc, volume, measured, measured - mg)


def _syringe(total_mg: float, conc: float) -> tuple[float, Decimal]:
    """The drug volume (mL, to the syringe step) and the mg it holds, by :func:`measured_dose`; its refusals name
    the form's fields: a dose that rounds to 0 mg (``dose_mg_per_kg``), a volume too small to draw at this strength
    (``concentration_mg_per_mL``)."""
    if total_mg <= 0:
        raise ClinicalInputError(f"the dose rounds to {total_mg:g} mg: check the dose per kg", "dose_mg_per_kg")
    try:
        m = measured_dose(total_mg, conc)
    except ClinicalInputError as e:
        raise ClinicalInputError(e.message, "concentration_mg_per_mL") from None
    return float(m.volume_mL), m.mg_as_measured


def _dosing_weight(
    weight_kg: float, height_cm: float | None, weight_basis: str, sex: str | None, cfg: Mapping[str, object]
) -> tuple[float, str, list[str]]:
    working = []
    if weight_basis not in ("actual", "adjusted"):
        raise ClinicalInputError("must be 'actual' or 'adjusted'", "weight_basis")
    if height_cm is not None:
        h = _number(height_cm, "height_cm", "cm")
        if not 100 <= h <= 250:
            raise ClinicalInputError(f"height {h:g} cm is outside the plausible range 100-250 cm", "height_cm")
    if weight_basis == "actual":
        w = _round(weight_kg, "0.1")
        working.append(f"Dosing weight = actual body weight {weight_kg:g} kg -> {w:g} kg.")
        return w, "actual", working
    if height_cm is None:
        raise ClinicalInputError("height is needed to use adjusted body weight", "height_cm")
    bmi = weight_kg / (float(height_cm) / 100) ** 2
    threshold = float(cfg["dosing.obesity_bmi"])  # type: ignore[arg-type]
    working.append(f"BMI = {weight_kg:g} kg / ({float(height_cm) / 100:g} m)^2 = {bmi:.1f} kg/m2.")
    if bmi <= threshold:
        w = _round(weight_kg, "0.1")
        working.append(f"BMI is not above {threshold:g}, so actual body weight {w:g} kg is used.")
        return w, "actual", working
    if sex not in ("female", "male"):
        raise ClinicalInputError("sex ('female' or 'male') is needed for the ideal body weight formula", "sex")
    inches = float(height_cm) / 2.54
    ibw = (50.0 if sex == "male" else 45.5) + 2.3 * (inches - 60)
    factor = float(cfg["dosing.adjusted_weight_factor"])  # type: ignore[arg-type]
    adjusted = ibw + factor * (weight_kg - ibw)
    w = _round(min(adjusted, weight_kg), "0.1")
    working.append(
        f"IBW (Devine, {sex}) = {50.0 if sex == 'male' else 45.5:g} + 2.3 x ({inches:.2f} in - 60) = {ibw:.1f} kg; "
        f"adjusted = {ibw:.1f} + {factor:g} x ({weight_kg:g} - {ibw:.1f}) = {adjusted:.2f} -> {w:g} kg."
    )
    working.append(ADJUSTED_WEIGHT_NOTE)
    return w, "adjusted", working


def _dose_per_kg(dose: object, route: str, cfg: Mapping[str, object]) -> tuple[float, bool, list[str]]:
    d = _number(dose, "dose_mg_per_kg", "mg/kg")
    prefix = "iv" if route == "iv" else "im"
    lo = float(cfg[f"dosing.{prefix}_min_mg_per_kg"])  # type: ignore[arg-type]
    hi = float(cfg[f"dosing.{prefix}_max_mg_per_kg"])  # type: ignore[arg-type]
    ceiling = float(cfg[f"dosing.{prefix}_ceiling_mg_per_kg"])  # type: ignore[arg-type]
    if d <= 0:
        raise ClinicalInputError(f"dose {d:g} mg/kg must be above 0", "dose_mg_per_kg")
    if d > ceiling:
        raise ClinicalInputError(
            f"dose {d:g} mg/kg is above the hard ceiling {ceiling:g} mg/kg for {route.upper()}; it cannot be "
            "given, even with an override", "dose_mg_per_kg"
        )
    warnings = []
    out = not lo <= d <= hi
    if out:
        warnings.append(
            f"Dose {d:g} mg/kg is outside the clinic's {route.upper()} range {lo:g}-{hi:g} mg/kg: a prescriber "
            "override reason is required."
        )
    return d, out, warnings


def _reason(override_reason: str | None) -> str | None:
    if override_reason is None:
        return None
    if not isinstance(override_reason, str):
        raise ClinicalInputError("override reason must be text", "override_reason")
    return override_reason.strip() or None


def _vial_concentration(concentration_mg_per_mL: float, cfg: Mapping[str, object],
                        stocked_concentrations: Iterable[object] | None) -> float:
    """A ketamine vial's strength in mg/mL: above 0, at most ``dosing.max_concentration_mg_per_mL``, and, when
    ``stocked_concentrations`` is given, a strength the clinic stocks (:func:`require_stocked`)."""
    conc = _number(concentration_mg_per_mL, "concentration_mg_per_mL", "mg/mL")
    max_conc = float(cfg["dosing.max_concentration_mg_per_mL"])  # type: ignore[arg-type]
    if not 0 < conc <= max_conc:
        raise ClinicalInputError(f"vial concentration {conc:g} mg/mL must be above 0 and at most {max_conc:g} mg/mL",
                                 "concentration_mg_per_mL")
    require_stocked(KETAMINE, conc, stocked_concentrations, "concentration_mg_per_mL")
    return conc


def _dose_in_syringe(w_actual: float, height_cm: float | None, weight_basis: str, sex: str | None, dose: float,
                     conc: float, cfg: Mapping[str, object], *, drawn_as: str):
    """A weight-based ketamine dose drawn from a vial, with the working shown: total mg = dosing weight x mg/kg
    (to 0.1 mg), the volume drawn (``drawn_as``: what the syringe's mL are called) = mg / vial mg/mL (to 0.01 mL),
    and the measured dose in the syringe = mL x mg/mL, which is the dose to record.

    Returns (dosing weight, weight basis, total mg, mL, measured mg, working)."""
    dw, basis, working = _dosing_weight(w_actual, height_cm, weight_basis, sex, cfg)
    exact = _dec(dw) * _dec(dose)
    total = _round(exact, "0.1")
    working.append(f"Dose = {dw:g} kg x {dose:g} mg/kg = {exact:f} mg -> {total:g} mg.")
    ml_exact = _dec(total) / _dec(conc)
    ml, measured = _syringe(total, conc)
    working.append(f"{drawn_as} = {total:g} mg / {conc:g} mg/mL = {float(ml_exact):.6g} mL -> {ml:.2f} mL.")
    working.append(f"Measured dose = {ml:.2f} mL x {conc:g} mg/mL = {measured.normalize():f} mg (the dose in the syringe: record "
                   "this).")
    return dw, basis, total, ml, measured, working


def iv_infusion(
    weight_kg: float,
    dose_mg_per_kg: float,
    minutes: int,
    concentration_mg_per_mL: float,
    bag_volume_mL: float,
    *,
    height_cm: float | None = None,
    weight_basis: str = "actual",
    sex: str | None = None,
    drug_added_to_bag: bool = True,
    previous_weight_kg: float | None = None,
    override_reason: str | None = None,
    settings: Mapping[str, object] | None = None,
    stocked_concentrations: Iterable[object] | None = None,
) -> DoseCalculation:
    """IV ketamine infusion: total mg, drug mL drawn from the vial, and pump rate in mL/h.

    total mg = dosing weight x mg/kg; drug mL = mg / vial mg/mL; infused volume = bag mL + drug mL (when the
    drug is added to the bag) and rate = volume / minutes x 60.  Standard 0.5 mg/kg over 40 min (clinical.md §1,
    Singh 2016 doi:10.1176/appi.ajp.2016.16010037; C); allowed range and ceiling are settings.

    Refused outright (:class:`ClinicalInputError`, no override): a rate at or above the label's induction rate
    (:func:`infusion_rate_check`), a 100 mg/mL vial not diluted with at least an equal volume
    (:func:`iv_dilution_check`), and, when ``stocked_concentrations`` is given, a concentration the clinic does not
    stock (:func:`ketaclinic.clinical.products.stocked_strength_check`).  Faster than the clinic's maximum rate
    needs an override.  ``measured_mg`` is the dose in the syringe (drug mL x mg/mL): record that.
    """
    cfg = resolve(settings)
    w_actual = _plausible_weight(weight_kg, cfg)
    weight_warnings = list(check_weight(w_actual, previous_weight_kg, cfg)) if previous_weight_kg is not None else []
    dose, out_of_range, warnings = _dose_per_kg(dose_mg_per_kg, "iv", cfg)
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ClinicalInputError(f"infusion time must be whole minutes, not {minutes!r}", "minutes")
    hard_min = int(cfg["dosing.iv_hard_min_minutes"])  # type: ignore[arg-type]
    if minutes < hard_min:
        raise ClinicalInputError(
            f"infusion time {minutes} min is shorter than the absolute minimum {hard_min} min", "minutes"
        )
    min_m, max_m = int(cfg["dosing.iv_min_minutes"]), int(cfg["dosing.iv_max_minutes"])  # type: ignore[arg-type]
    if not min_m <= minutes <= max_m:
        out_of_range = True
        warnings.append(
            f"Infusion time {minutes} min is outside the clinic's range {min_m}-{max_m} min: a prescriber override "
            "reason is required."
        )
    rate_check = infusion_rate_check(dose, minutes, settings=cfg)
    if rate_check.blocked:
        raise ClinicalInputError(rate_check.reason, "minutes")
    if rate_check.needs_override:
        out_of_range = True
        warnings.append(rate_check.reason)
    conc = _vial_concentration(concentration_mg_per_mL, cfg, stocked_concentrations)
    bag = _number(bag_volume_mL, "bag_volume_mL", "mL")
    max_bag = float(cfg["dosing.max_bag_volume_mL"])  # type: ignore[arg-type]
    if not 0 < bag <= max_bag:
        raise ClinicalInputError(f"bag volume {bag:g} mL must be above 0 and at most {max_bag:g} mL", "bag_volume_mL")
    dw, basis, total, ml, measured, working = _dose_in_syringe(w_actual, height_cm, weight_basis, sex, dose, conc, cfg,
                                                               drawn_as="Drug volume")
    if drug_added_to_bag:
        volume = _dec(bag) + _dec(ml)
        diluent = _dec(bag)
        working.append(f"Infused volume = bag {bag:g} mL + drug {ml:.2f} mL = {volume:f} mL.")
    else:
        volume = _dec(bag)
        diluent = _dec(bag) - _dec(ml)
        if diluent < 0:
            raise ClinicalInputError(f"the final volume {bag:g} mL is smaller than the drug volume {ml:.2f} mL: "
                                     "check the bag volume", "bag_volume_mL")
        working.append(f"Infused volume = bag {bag:g} mL (final volume already includes the drug).")
    dilution = iv_dilution_check(conc, drug_mL=ml, diluent_mL=diluent)
    if dilution.blocked:
        raise ClinicalInputError(dilution.reason, "concentration_mg_per_mL")
    working.append(f"Infusion speed = {dose:g} mg/kg / {minutes} min = "
                   f"{rate_check.details['rate_mg_per_kg_per_min']:.4g} mg/kg/min (label induction rate "
                   f"{INDUCTION_RATE_MG_PER_KG_PER_MIN} mg/kg/min is never reached).")
    rate_exact = volume * 60 / minutes
    rate = _round(rate_exact, "0.1")
    working.append(f"Pump rate = {volume:f} mL / {minutes} min x 60 = {float(rate_exact):.6g} mL/h -> "
                   f"{rate:g} mL/h.")
    working.append(ROUNDING_RULE)
    reason = _reason(override_reason)
    return DoseCalculation("iv", basis, dw, dose, total, ml, conc, bag, minutes, rate, None, tuple(working),
                           tuple(weight_warnings + warnings), out_of_range, reason, float(measured))


def im_injection(
    weight_kg: float,
    dose_mg_per_kg: float,
    concentration_mg_per_mL: float,
    *,
    height_cm: float | None = None,
    weight_basis: str = "actual",
    sex: str | None = None,
    previous_weight_kg: float | None = None,
    override_reason: str | None = None,
    settings: Mapping[str, object] | None = None,
    stocked_concentrations: Iterable[object] | None = None,
) -> DoseCalculation:
    """IM ketamine: total mg = dosing weight x mg/kg; mL = mg / vial mg/mL.

    Allowed range 0.25-0.5 mg/kg (Chilukuri 2014 doi:10.4103/0253-7176.127258, clinical.md §3a, C); ceiling
    1.0 mg/kg (clinic IM range, clinical.md §3a, U).  ``stocked_concentrations`` as in :func:`iv_infusion`;
    ``measured_mg`` (mL x mg/mL) is the dose to record.
    """
    cfg = resolve(settings)
    w_actual = _plausible_weight(weight_kg, cfg)
    weight_warnings = list(check_weight(w_actual, previous_weight_kg, cfg)) if previous_weight_kg is not None else []
    dose, out_of_range, warnings = _dose_per_kg(dose_mg_per_kg, "im", cfg)
    conc = _vial_concentration(concentration_mg_per_mL, cfg, stocked_concentrations)
    dw, basis, total, ml, measured, working = _dose_in_syringe(w_actual, height_cm, weight_basis, sex, dose, conc, cfg,
                                                               drawn_as="Injection volume")
    working.append(ROUNDING_RULE)
    return DoseCalculation("im", basis, dw, dose, total, ml, conc, None, None, None, None, tuple(working),
                           tuple(weight_warnings + warnings), out_of_range, _reason(override_reason), float(measured))


def esketamine(
    dose_mg: int,
    *,
    first_session: bool,
    indication: str = "trd",
    override_reason: str | None = None,
    settings: Mapping[str, object] | None = None,
) -> DoseCalculation:
    """Spravato session: 28 mg per device, 56 mg (2 devices) or 84 mg (3 devices), 5 minutes between devices.

    TRD: day-1 dose 56 mg, 84 mg only after the 56 mg start; MDD with acute suicidal ideation (``indication=
    "mdsi"``): 84 mg, may reduce to 56 mg (clinical.md §3b, C).  28 mg (EU/HK older-adult start, S) needs an
    override unless the clinic allows it.  Above 84 mg is never allowed.
    """
    cfg = resolve(settings)
    if isinstance(dose_mg, bool) or not isinstance(dose_mg, int):
        raise ClinicalInputError(f"esketamine dose must be whole mg, not {dose_mg!r}", "dose_mg")
    if indication not in ("trd", "mdsi"):
        raise ClinicalInputError("indication must be 'trd' or 'mdsi'", "indication")
    if dose_mg <= 0 or dose_mg % ESKETAMINE_DEVICE_MG:
        raise ClinicalInputError(
            f"esketamine dose {dose_mg} mg is not a whole number of {ESKETAMINE_DEVICE_MG} mg devices", "dose_mg"
        )
    max_dose = int(cfg["dosing.esketamine_max_dose_mg"])  # type: ignore[arg-type]
    if dose_mg > max_dose:
        raise ClinicalInputError(f"esketamine dose {dose_mg} mg is above the {max_dose} mg maximum", "dose_mg")
    devices = dose_mg // ESKETAMINE_DEVICE_MG
    gap = int(cfg["dosing.esketamine_device_interval_minutes"])  # type: ignore[arg-type]
    warnings: list[str] = []
    needs = False
    if dose_mg == 28 and not cfg["dosing.esketamine_allow_28mg"]:
        needs = True
        warnings.append("28 mg is outside US labelling (EU/HK older-adult start only): override reason required.")
    first_dose = int(cfg["dosing.esketamine_first_dose_mg"])  # type: ignore[arg-type]
    if first_session and indication == "trd" and dose_mg > first_dose:
        needs = True
        warnings.append(f"TRD first session is {first_dose} mg; {dose_mg} mg is used only after the {first_dose} mg "
                        "start: override reason required.")
    working = [f"{dose_mg} mg / {ESKETAMINE_DEVICE_MG} mg per device = {devices} device(s), 2 sprays each "
               "(1 per nostril)."]
    for k in range(devices):
        working.append(f"Device {k + 1} at {k * gap} min" + ("" if k == 0 else f" ({gap} min after device {k})")
                       + (" (last device: the observation clock starts)" if k == devices - 1 else ""))
    span = (devices - 1) * gap
    # the discharge clock runs from the last device (rule discharge.clock, ketaclinic.clinical.discharge); the REMS
    # form's own minutes run from the first, and are met whenever the discharge minimum is
    working.append(f"Dosing takes {span} min; observe at least {cfg['observation.esketamine_min_minutes']} min from "
                   "the last device (the REMS form counts its minutes from the first); BP before dosing and at about "
                   f"{cfg['vitals.esketamine_bp_check_minutes']} min.")
    return DoseCalculation("intranasal", "fixed dose", None, None, float(dose_mg), None, None, None, span, None,
                           devices, tuple(working), tuple(warnings), needs, _reason(override_reason),
                           float(devices * ESKETAMINE_DEVICE_MG))


# ------------------------------------------------------------------------------ what the pump actually gave
@dataclass(frozen=True)
class InfusedDose:
    """What an IV infusion delivered, from its dosing events: ``mg`` and ``volume_mL`` (to 0.01, never more than
    prepared), the minutes the pump ran, and ``early`` when it stopped before the prepared volume had run."""

    mg: Decimal
    volume_mL: Decimal
    running_minutes: Decimal
    early: bool


def _elapsed(start: datetime, end: datetime) -> Decimal:
    """Seconds that really passed (by the instants, so a clock change inside the infusion counts right: Python
    subtracts two times of the same zone by their wall clocks)."""
    return Decimal(str(end.timestamp() - start.timestamp()))


def pump_segments(*, start: datetime, stop: datetime, start_rate_mL_per_h: float | Decimal,
                  events: Iterable[tuple[str, datetime, float | Decimal | None]]
                  ) -> tuple[list[tuple[datetime, datetime, Decimal]], bool]:
    """When an infusion pump ran between ``start`` and ``stop``, and at what rate: ``(from, to, mL/h)`` for each
    running stretch, and whether it still runs at ``stop``. It runs at ``start_rate_mL_per_h`` until a
    ``("rate", at, mL/h)`` event changes it; a ``("pause", at, None)`` stops it until ``("resume", at, None)``.
    Events outside [start, stop], and of other kinds, are ignored. The bag is not counted here (see
    :func:`infused_dose`). Pure arithmetic (rule ``dosing.infused_dose``)."""
    rate = _dec(start_rate_mL_per_h)
    running, t = True, start
    segments: list[tuple[datetime, datetime, Decimal]] = []
    for kind, at, value in sorted(events, key=lambda e: e[1].timestamp()):
        if kind not in ("pause", "resume", "rate") or _elapsed(start, at) < 0 or _elapsed(at, stop) < 0:
            continue
        if running:
            segments.append((t, at, rate))
        t = at
        if kind == "pause":
            running = False
        elif kind == "resume":
            running = True
        elif value is not None:
            rate = _dec(value)
    if running:
        segments.append((t, stop, rate))
    return segments, running


def _programmed_rate(volume_total: Decimal, planned_minutes: int | None,
                     start_rate_mL_per_h: float | Decimal) -> Decimal:
    """The rate the pump was started at: the prepared volume over the planned minutes (volume x 60 / minutes, so
    the rounded mL/h shown to the nurse is not a shortfall), else the rate programmed."""
    return volume_total * 60 / Decimal(planned_minutes) if planned_minutes else _dec(start_rate_mL_per_h)


def _volume_run(segments: Iterable[tuple[datetime, datetime, Decimal]]) -> Decimal:
    """mL the pump moved in its running segments: the sum of rate (mL/h) x running time."""
    return sum((r * _elapsed(a, b) / 3600 for a, b, r in segments), Decimal(0))


def infused_dose(*, start: datetime, stop: datetime, start_rate_mL_per_h: float | Decimal,
                 events: Iterable[tuple[str, datetime, float | Decimal | None]], dose_mg: float | Decimal,
                 infused_volume_mL: float | Decimal, planned_minutes: int | None = None) -> InfusedDose:
    """The dose an infusion gave between ``start`` and ``stop``: the pump runs as :func:`pump_segments` says.
    Volume = sum of rate x running time; mg = volume x (dose mg / infused volume mL), the bag's concentration
    (drug and diluent mixed). Capped at the prepared volume: a pump stops when the bag is empty. With
    ``planned_minutes`` the starting rate is the one programmed to run the prepared volume over them (volume x 60
    / minutes; the rounded mL/h shown to the nurse is not a shortfall). Events outside [start, stop] are ignored.
    Pure arithmetic (rule ``dosing.infused_dose``)."""
    if _elapsed(start, stop) < 0:
        raise ClinicalInputError("the stop must not be before the start", "stop")
    volume_total = _dec(infused_volume_mL)
    mg_total = _dec(dose_mg)
    if volume_total <= 0 or mg_total < 0:
        raise ClinicalInputError("must be above 0 mL", "infused_volume_mL")
    rate = _programmed_rate(volume_total, planned_minutes, start_rate_mL_per_h)
    segments, _ = pump_segments(start=start, stop=stop, start_rate_mL_per_h=rate, events=events)
    volume = _volume_run(segments)
    seconds = sum((_elapsed(a, b) for a, b, _ in segments), Decimal(0))
    volume = min(volume, volume_total)
    mg = (mg_total * volume / volume_total).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return InfusedDose(mg=mg, volume_mL=volume.quantize(Decimal("0.01"), ROUND_HALF_UP),
                       running_minutes=(seconds / 60).quantize(Decimal("0.1"), ROUND_HALF_UP),
                       early=mg < mg_total.quantize(Decimal("0.01"), ROUND_HALF_UP))


@dataclass(frozen=True)
class InfusionLeft:
    """Where a running IV infusion stands at a moment: ``running`` (False while the pump is paused),
    ``volume_left_mL`` of the prepared volume (to 0.01, never below 0), ``rate_mL_per_h`` the pump runs at now
    (None while paused) and ``minutes_left`` to run that volume at that rate (to 0.1 min; None while paused, 0 once
    the prepared volume has run)."""

    running: bool
    volume_left_mL: Decimal
    rate_mL_per_h: Decimal | None
    minutes_left: Decimal | None


def infusion_time_left(*, start: datetime, at: datetime, start_rate_mL_per_h: float | Decimal,
                       events: Iterable[tuple[str, datetime, float | Decimal | None]],
                       infused_volume_mL: float | Decimal, planned_minutes: int | None = None) -> InfusionLeft:
    """How long a running infusion has left at ``at``: the volume not yet run (the prepared volume less what the
    pump moved, as :func:`pump_segments` and :func:`infused_dose` count it: the same starting rate, pauses and rate
    changes) over the rate it runs at now: minutes = volume left (mL) x 60 / rate (mL/h). Paused, it has no time
    left to tell. It assumes the pump runs on at its present rate; it says nothing about whether it should.
    Pure arithmetic on the recorded pump events (rule ``dosing.infused_dose``; issue 20)."""
    if _elapsed(start, at) < 0:
        raise ClinicalInputError("the moment must not be before the start", "at")
    volume_total = _dec(infused_volume_mL)
    if volume_total <= 0:
        raise ClinicalInputError("must be above 0 mL", "infused_volume_mL")
    rate = _programmed_rate(volume_total, planned_minutes, start_rate_mL_per_h)
    segments, running = pump_segments(start=start, stop=at, start_rate_mL_per_h=rate, events=events)
    left = max(volume_total - _volume_run(segments), Decimal(0))
    now_rate = segments[-1][2] if running and segments else None
    minutes = None
    if now_rate is not None:
        minutes = (left * 60 / now_rate).quantize(Decimal("0.1"), ROUND_HALF_UP) if now_rate > 0 else None
    return InfusionLeft(running=running, volume_left_mL=left.quantize(Decimal("0.01"), ROUND_HALF_UP),
                        rate_mL_per_h=now_rate, minutes_left=minutes)
