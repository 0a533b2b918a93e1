"""Dose maths for IV infusion, IM injection and intranasal esketamine, with hand-checkable working.

Rounding (stated in every ``working``): ROUND_HALF_UP of the decimal value; weight to 0.1 kg, dose to 0.1 mg,
drug volume to 0.01 mL, pump rate to 0.1 mL/h.  Sources: clinical.md §1 (IV), §3a (IM), §3b (esketamine);
ranges and ceilings are clinic settings (see :mod:`ketaclinic.clinical.settings`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import ClinicalInputError
from .settings import resolve

LB_PER_KG = 2.2046  # unit definition (1 kg = 2.20462 lb)
ESKETAMINE_DEVICE_MG = 28  # clinical.md §3b 'Device' row: 28 mg per device (C)
ROUNDING_RULE = "Rounding: half up; weight 0.1 kg, dose 0.1 mg, volume 0.01 mL, rate 0.1 mL/h."
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
) -> DoseCalculation:
    """IV ketamine infusion: total mg, drug mL drawn from the vial, and pump rate in mL/h.

    total mg = dosing weight x mg/kg; drug mL = mg / vial mg/mL; infused volume = bag mL + drug mL (when the
    drug is added to the bag) and rate = volume / minutes x 60.  Standard 0.5 mg/kg over 40 min (clinical.md §1,
    Singh 2016 doi:10.1176/appi.ajp.2016.16010037; C); allowed range and ceiling are settings.
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
    conc = _number(concentration_mg_per_mL, "concentration_mg_per_mL", "mg/mL")
    max_conc = float(cfg["dosing.max_concentration_mg_per_mL"])  # type: ignore[arg-type]
    if not 0 < conc <= max_conc:
        raise ClinicalInputError(f"vial concentration {conc:g} mg/mL must be above 0 and at most {max_conc:g} mg/mL",
                                 "concentration_mg_per_mL")
    bag = _number(bag_volume_mL, "bag_volume_mL", "mL")
    max_bag = float(cfg["dosing.max_bag_volume_mL"])  # type: ignore[arg-type]
    if not 0 < bag <= max_bag:
        raise ClinicalInputError(f"bag volume {bag:g} mL must be above 0 and at most {max_bag:g} mL", "bag_volume_mL")
    dw, basis, working = _dosing_weight(w_actual, height_cm, weight_basis, sex, cfg)
    exact = _dec(dw) * _dec(dose)
    total = _round(exact, "0.1")
    working.append(f"Dose = {dw:g} kg x {dose:g} mg/kg = {exact:f} mg -> {total:g} mg.")
    ml_exact = _dec(total) / _dec(conc)
    ml = _round(ml_exact, "0.01")
    working.append(f"Drug volume = {total:g} mg / {conc:g} mg/mL = {float(ml_exact):.6g} mL -> {ml:.2f} mL.")
    if drug_added_to_bag:
        volume = _dec(bag) + _dec(ml)
        working.append(f"Infused volume = bag {bag:g} mL + drug {ml:.2f} mL = {volume:f} mL.")
    else:
        volume = _dec(bag)
        working.append(f"Infused volume = bag {bag:g} mL (final volume already includes the drug).")
    rate_exact = volume * 60 / minutes
    rate = _round(rate_exact, "0.1")
    working.append(f"Pump rate = {volume:f} mL / {minutes} min x 60 = {float(rate_exact):.6g} mL/h -> "
                   f"{rate:g} mL/h.")
    working.append(ROUNDING_RULE)
    reason = _reason(override_reason)
    return DoseCalculation("iv", basis, dw, dose, total, ml, conc, bag, minutes, rate, None, tuple(working),
                           tuple(weight_warnings + warnings), out_of_range, reason)


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
) -> DoseCalculation:
    """IM ketamine: total mg = dosing weight x mg/kg; mL = mg / vial mg/mL.

    Allowed range 0.25-0.5 mg/kg (Chilukuri 2014 doi:10.4103/0253-7176.127258, clinical.md §3a, C); ceiling
    1.0 mg/kg (clinic IM range, clinical.md §3a, U).
    """
    cfg = resolve(settings)
    w_actual = _plausible_weight(weight_kg, cfg)
    weight_warnings = list(check_weight(w_actual, previous_weight_kg, cfg)) if previous_weight_kg is not None else []
    dose, out_of_range, warnings = _dose_per_kg(dose_mg_per_kg, "im", cfg)
    conc = _number(concentration_mg_per_mL, "concentration_mg_per_mL", "mg/mL")
    max_conc = float(cfg["dosing.max_concentration_mg_per_mL"])  # type: ignore[arg-type]
    if not 0 < conc <= max_conc:
        raise ClinicalInputError(f"vial concentration {conc:g} mg/mL must be above 0 and at most {max_conc:g} mg/mL",
                                 "concentration_mg_per_mL")
    dw, basis, working = _dosing_weight(w_actual, height_cm, weight_basis, sex, cfg)
    exact = _dec(dw) * _dec(dose)
    total = _round(exact, "0.1")
    working.append(f"Dose = {dw:g} kg x {dose:g} mg/kg = {exact:f} mg -> {total:g} mg.")
    ml_exact = _dec(total) / _dec(conc)
    ml = _round(ml_exact, "0.01")
    working.append(f"Injection volume = {total:g} mg / {conc:g} mg/mL = {float(ml_exact):.6g} mL -> {ml:.2f} mL.")
    working.append(ROUNDING_RULE)
    return DoseCalculation("im", basis, dw, dose, total, ml, conc, None, None, None, None, tuple(working),
                           tuple(weight_warnings + warnings), out_of_range, _reason(override_reason))


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
        working.append(f"Device {k + 1} at {k * gap} min" + (" (first device: observation clock starts)" if k == 0
                                                               else f" ({gap} min after device {k})"))
    span = (devices - 1) * gap
    working.append(f"Dosing takes {span} min; observe at least {cfg['observation.esketamine_min_minutes']} min from "
                   "the first device; BP before dosing and at about "
                   f"{cfg['vitals.esketamine_bp_check_minutes']} min.")
    return DoseCalculation("intranasal", "fixed dose", None, None, float(dose_mg), None, None, None, span, None,
                           devices, tuple(working), tuple(warnings), needs, _reason(override_reason))
