"""Eligibility for ketamine / esketamine treatment: eligible, needs prescriber review, or not eligible.

Every reason is listed with its class (absolute, relative, precaution, missing) and source.  Absolute -> not
eligible; relative or missing -> prescriber review; precautions -> review when the clinic setting
``eligibility.precautions_need_review`` is on (default).  Sources: clinical.md §2 (contraindications and
precautions), §3b (esketamine labelling), §5c (ICD-10-CM), seed article (eligibility FAQ).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import ClinicalInputError
from .settings import resolve


class Drug(StrEnum):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


#: Esketamine is labelled for adults only: a hard floor that no clinic setting can lower
#: (``eligibility.min_age_years`` may only raise it).
ESKETAMINE_MIN_AGE_YEARS = 18
_ADULTS_SOURCE = ("clinical.md §3b (TRD and MDSI indications are for adults, C); SPR-PI §8.4: safety and "
                  "effectiveness not established in pediatric patients")


# ------------------------------------------------------------------------------------------- ICD-10-CM (§5c)
#: Every ICD-10-CM code in clinical.md §5c, with a label (the platform's built-in diagnosis list).
ICD10_CODES: dict[str, str] = {
    "F32.0": "Major depressive disorder, single episode, mild",
    "F32.1": "Major depressive disorder, single episode, moderate",
    "F32.2": "Major depressive disorder, single episode, severe without psychotic features",
    "F32.3": "Major depressive disorder, single episode, severe with psychotic features",
    "F33.0": "Major depressive disorder, recurrent, mild",
    "F33.1": "Major depressive disorder, recurrent, moderate",
    "F33.2": "Major depressive disorder, recurrent, severe without psychotic features",
    "F33.3": "Major depressive disorder, recurrent, severe with psychotic features",
    "F33.40": "Major depressive disorder, recurrent, in remission, unspecified",
    "F33.41": "Major depressive disorder, recurrent, in partial remission",
    "F33.42": "Major depressive disorder, recurrent, in full remission",
    "F33.9": "Major depressive disorder, recurrent, unspecified",
    "F31.30": "Bipolar disorder, current episode depressed, mild or moderate severity, unspecified",
    "F31.31": "Bipolar disorder, current episode depressed, mild",
    "F31.32": "Bipolar disorder, current episode depressed, moderate",
    "F31.4": "Bipolar disorder, current episode depressed, severe, without psychotic features",
    "F31.5": "Bipolar disorder, current episode depressed, severe, with psychotic features",
    "F31.81": "Bipolar II disorder",
    "F43.10": "Post-traumatic stress disorder, unspecified",
    "F43.11": "Post-traumatic stress disorder, acute",
    "F43.12": "Post-traumatic stress disorder, chronic",
    "F41.1": "Generalized anxiety disorder",
    "R45.851": "Suicidal ideations",
    "T14.91XA": "Suicide attempt, initial encounter",
    "T14.91XD": "Suicide attempt, subsequent encounter",
    "T14.91XS": "Suicide attempt, sequela",
}
#: Status of each code in clinical.md §5c (C confirmed, S secondary, U unconfirmed).
ICD10_STATUS: dict[str, str] = {c: "C" for c in ICD10_CODES} | {
    "F31.31": "U", "F31.32": "U", "F31.81": "U", "F41.1": "S", "T14.91XA": "S", "T14.91XD": "S", "T14.91XS": "S",
    "F33.40": "C (as F33.4x)", "F33.41": "C (as F33.4x)", "F33.42": "C (as F33.4x)",
}
DEPRESSIVE_CODES = frozenset(c for c in ICD10_CODES if c.startswith(("F32.", "F33.")))
BIPOLAR_CODES = frozenset(c for c in ICD10_CODES if c.startswith("F31."))
PTSD_CODES = frozenset(c for c in ICD10_CODES if c.startswith("F43.1"))
ANXIETY_CODES = frozenset({"F41.1"})
SUICIDALITY_CODES = frozenset({"R45.851", "T14.91XA", "T14.91XD", "T14.91XS"})
PSYCHOTIC_FEATURES_CODES = frozenset({"F32.3", "F33.3", "F31.5"})
REMISSION_CODES = frozenset({"F33.40", "F33.41", "F33.42"})
#: Category of each built-in code: "depressive", "bipolar", "ptsd", "anxiety" or "suicidality".
ICD10_CATEGORY: dict[str, str] = {
    c: ("depressive" if c in DEPRESSIVE_CODES else "bipolar" if c in BIPOLAR_CODES else "ptsd" if c in PTSD_CODES
        else "anxiety" if c in ANXIETY_CODES else "suicidality")
    for c in ICD10_CODES
}
_ICD_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")

# ------------------------------------------------------------------------------------------- flags and classes
HISTORY_FLAGS: tuple[str, ...] = (
    "psychosis",
    "substance_use_disorder",
    "drug_seeking",
    "uncontrolled_hypertension",
    "cardiovascular_disease",
    "cerebrovascular_disease",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_haemorrhage",
    "bp_or_icp_rise_serious_risk",
    "pregnancy",
    "breastfeeding",
    "hepatic_impairment",
    "hepatic_impairment_severe",
    "hypersensitivity",
    "raised_intracranial_pressure",
    "raised_intraocular_pressure",
    "hyperthyroidism",
)
MEDICATION_CLASSES: tuple[str, ...] = ("benzodiazepine", "other_sedative", "opioid", "stimulant", "maoi")
TRIAL_OUTCOMES = ("no_response", "partial", "response", "not_tolerated")
SEVERITIES = ("absolute", "relative", "precaution", "missing")

_LABEL4 = "clinical.md §2 (SPR-PI §4, 2021 ISI; C)"
_KETALAR = "clinical.md §2 'Ketalar (racemic) label' row: significant BP elevation a serious hazard (U)"

# flag -> (severity for esketamine, severity for ketamine, text, source)
_FLAG_RULES: dict[str, tuple[str, str, str, str]] = {
    "psychosis": ("relative", "relative", "History of or current psychosis: start only if benefit outweighs risk",
                  "clinical.md §2 (SPR-PI §5.2; SAN17; C for the label)"),
    "substance_use_disorder": ("relative", "relative",
                               "Substance use disorder (including alcohol): careful consideration; monitor for abuse",
                               "clinical.md §2 (SPR-HCP; SPR-PI §5.3; C)"),
    "drug_seeking": ("relative", "relative", "Drug-seeking / abuse or misuse risk: assess before prescribing; monitor",
                     "clinical.md §2 (SPR-PI §5.3; C); seed article eligibility FAQ"),
    "uncontrolled_hypertension": ("relative", "relative", "Uncontrolled hypertension",
                                  "clinical.md §2 (SPR-PI §5.6; S)"),
    "cardiovascular_disease": ("relative", "relative",
                               "Unstable cardiovascular disease (recent MI, CAD, heart failure; e.g. aortic stenosis)",
                               "clinical.md §2 (SPR-PI §5.6; hcplive expert comment; S)"),
    "cerebrovascular_disease": ("relative", "relative", "Unstable cerebrovascular disease (e.g. stroke)",
                                "clinical.md §2 (SPR-PI §5.6; S)"),
    "aneurysmal_vascular_disease": ("absolute", "absolute",
                                    "Aneurysmal vascular disease (aorta, intracranial or peripheral arteries)",
                                    _LABEL4),
    "arteriovenous_malformation": ("absolute", "absolute", "Arteriovenous malformation", _LABEL4),
    "intracerebral_haemorrhage": ("absolute", "absolute", "History of intracerebral haemorrhage", _LABEL4),
    "bp_or_icp_rise_serious_risk": ("absolute", "absolute",
                                    "A rise in blood pressure or intracranial pressure would pose a serious risk",
                                    "clinical.md §2 (SPR-PI §5 ISI, C/U)"),
    "pregnancy": ("relative", "relative", "Pregnancy: avoid, may cause fetal harm",
                  "clinical.md §2 (SPR-PI §8.1; C)"),
    "breastfeeding": ("relative", "relative", "Breastfeeding: advise not to breastfeed",
                      "clinical.md §2 (SPR-PI §8.2; C)"),
    "hepatic_impairment": ("relative", "relative",
                           "Hepatic impairment: moderate (Child-Pugh B) has higher exposure, monitor longer",
                           "clinical.md §2 (SPR-PI §8.7; S)"),
    "hepatic_impairment_severe": ("relative", "relative", "Severe hepatic impairment (Child-Pugh C): no experience",
                                  "clinical.md §2 (SPR-PI §8.7; S)"),
    "hypersensitivity": ("absolute", "absolute", "Hypersensitivity to esketamine, ketamine or excipients",
                         "clinical.md §2 (SPR-PI §4; C)"),
    "raised_intracranial_pressure": ("relative", "relative", "Raised intracranial pressure",
                                     "clinical.md §2 (anaesthesia literature; U)"),
    "raised_intraocular_pressure": ("relative", "relative", "Raised intraocular pressure",
                                    "clinical.md §2 (anaesthesia literature; U)"),
    "hyperthyroidism": ("relative", "relative", "Hyperthyroidism", "clinical.md §2 (anaesthesia literature; U)"),
}
_VASCULAR_ABSOLUTE = {"aneurysmal_vascular_disease", "arteriovenous_malformation", "intracerebral_haemorrhage",
                      "bp_or_icp_rise_serious_risk"}

_MED_RULES: dict[str, tuple[str, str]] = {
    "benzodiazepine": ("Benzodiazepine: CNS depressant, sedation and respiratory depression (REMS form field)",
                       "clinical.md §2 (PMF; SPR-PI §7; C)"),
    "other_sedative": ("Other sedative / hypnotic: CNS depressant, sedation and respiratory depression",
                       "clinical.md §2 (PMF; SPR-PI §7; C)"),
    "opioid": ("Opioid: CNS depressant, sedation and respiratory depression", "clinical.md §2 (PMF; SPR-PI §7; C)"),
    "stimulant": ("Psychostimulant: may increase blood pressure", "clinical.md §2 (PMF; C)"),
    "maoi": ("MAOI: may increase blood pressure", "clinical.md §2 (PMF; C)"),
}


@dataclass(frozen=True)
class TreatmentTrial:
    """One prior treatment trial. ``outcome``: "no_response" | "partial" | "response" | "not_tolerated"."""

    drug: str
    dose: str
    weeks: float
    adequate_dose: bool
    outcome: str


@dataclass(frozen=True)
class EligibilityInput:
    """What eligibility is decided from. ``diagnoses`` are ICD-10-CM codes."""

    drug: Drug
    diagnoses: Sequence[str]
    trials: Sequence[TreatmentTrial]
    history_flags: frozenset[str]
    medication_classes: frozenset[str]
    baseline_systolic_mmHg: int | None
    baseline_diastolic_mmHg: int | None
    age_years: int | None = None


@dataclass(frozen=True)
class Reason:
    """One reason, classed "absolute" | "relative" | "precaution" | "missing", with its source."""

    code: str
    text: str
    severity: str
    source: str


@dataclass(frozen=True)
class EligibilityDecision:
    """``outcome`` is "eligible" | "review" | "not_eligible"; ``adequate_trials`` counts failed adequate trials."""

    outcome: str
    reasons: tuple[Reason, ...]
    adequate_trials: int

    @property
    def needs_information(self) -> tuple[Reason, ...]:
        """The reasons that are missing information (e.g. ``age_missing``): record these before a prescriber
        signs; the outcome is never "eligible" while any is open."""
        return tuple(r for r in self.reasons if r.severity == "missing")


def _normalise_code(code: object) -> str:
    if not isinstance(code, str):
        raise ClinicalInputError(f"diagnosis codes must be text, not {code!r}", "diagnoses")
    c = code.strip().upper()
    if not _ICD_RE.match(c):
        raise ClinicalInputError(f"{code!r} is not an ICD-10-CM code (e.g. F33.2)", "diagnoses")
    return c


def _is_failed_adequate(t: TreatmentTrial, weeks_needed: float) -> bool:
    return t.adequate_dose and t.weeks >= weeks_needed and t.outcome in ("no_response", "partial")


def _check_trial(n: int, t: object) -> TreatmentTrial:
    if not isinstance(t, TreatmentTrial):
        raise ClinicalInputError(f"trial {n} must be a TreatmentTrial", "trials")
    if t.outcome not in TRIAL_OUTCOMES:
        raise ClinicalInputError(f"trial {n} outcome {t.outcome!r} must be one of {', '.join(TRIAL_OUTCOMES)}",
                                 "trials")
    if isinstance(t.weeks, bool) or not isinstance(t.weeks, int | float) or not 0 <= t.weeks <= 520:
        raise ClinicalInputError(f"trial {n} length {t.weeks!r} weeks must be between 0 and 520", "trials")
    if not isinstance(t.adequate_dose, bool):
        raise ClinicalInputError(f"trial {n} adequate_dose must be true or false", "trials")
    return t


def _check_bp(value: int | None, name: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ClinicalInputError(f"{value!r} mmHg is not a possible reading ({lo}-{hi})", name)
    return value


def assess_eligibility(data: EligibilityInput, settings: Mapping[str, object] | None = None) -> EligibilityDecision:
    """Decide eligible / review / not eligible, listing every reason with its class and source.

    Absolute contraindications (clinical.md §2: aneurysmal vascular disease, AVM, intracerebral haemorrhage,
    hypersensitivity; SPR-PI §4, C) make the patient not eligible.  For racemic ketamine the vascular ones rest
    on the Ketalar label (U) and are still treated as absolute, the cautious choice.  Relative contraindications,
    missing information and (by default) precautions send the patient to prescriber review.

    Age: esketamine under 18 is not eligible (``esketamine_under_18``, absolute: labelled for adults only; the floor
    :data:`ESKETAMINE_MIN_AGE_YEARS` cannot be lowered by ``eligibility.min_age_years``, which can only add a
    higher review age).  A missing age is a "missing" reason (``age_missing``) for every drug, so it never passes
    silently (:attr:`EligibilityDecision.needs_information`).
    """
    if not isinstance(data, EligibilityInput):
        raise ClinicalInputError("expected an EligibilityInput")
    try:
        drug = Drug(data.drug)
    except ValueError:
        raise ClinicalInputError(f"drug must be one of {', '.join(d.value for d in Drug)}", "drug") from None
    cfg = resolve(settings)
    esk = drug is Drug.ESKETAMINE
    reasons: list[Reason] = []

    unknown = set(data.history_flags) - set(HISTORY_FLAGS)
    if unknown:
        raise ClinicalInputError(f"unknown history flag(s): {', '.join(sorted(unknown))}", "history_flags")
    unknown = set(data.medication_classes) - set(MEDICATION_CLASSES)
    if unknown:
        raise ClinicalInputError(f"unknown medication class(es): {', '.join(sorted(unknown))}", "medication_classes")
    codes = [_normalise_code(c) for c in data.diagnoses]
    trials = [_check_trial(n, t) for n, t in enumerate(data.trials)]
    sbp = _check_bp(data.baseline_systolic_mmHg, "baseline_systolic_mmHg", 20, 300)
    dbp = _check_bp(data.baseline_diastolic_mmHg, "baseline_diastolic_mmHg", 10, 200)
    if sbp is not None and dbp is not None and dbp >= sbp:
        raise ClinicalInputError("baseline diastolic must be below systolic", "baseline_diastolic_mmHg")
    if data.age_years is not None and (isinstance(data.age_years, bool) or not isinstance(data.age_years, int)
                                       or not 0 <= data.age_years <= 120):
        raise ClinicalInputError(f"age {data.age_years!r} years is not possible", "age_years")

    # --- history flags
    for flag in sorted(data.history_flags, key=HISTORY_FLAGS.index):
        sev_e, sev_k, text, source = _FLAG_RULES[flag]
        severity = sev_e if esk else sev_k
        if not esk and flag in _VASCULAR_ABSOLUTE:
            source = f"{_KETALAR}; esketamine label by analogy ({source})"
        reasons.append(Reason(flag, text, severity, source))

    # --- diagnoses
    code_set = set(codes)
    depressive = code_set & DEPRESSIVE_CODES
    bipolar = code_set & BIPOLAR_CODES
    ptsd = code_set & PTSD_CODES
    if not codes:
        reasons.append(Reason("no_diagnosis", "No diagnosis recorded", "missing", "clinical.md §5c"))
    elif not (depressive or bipolar or ptsd):
        reasons.append(Reason("no_indication", "No depressive, bipolar-depression or PTSD diagnosis recorded "
                              f"({', '.join(codes)})", "relative",
                              "clinical.md §7 SAN17 (strongest evidence: non-psychotic major depressive episodes; "
                              "S); seed article eligibility FAQ"))
    for c in codes:
        if c not in ICD10_CODES:
            reasons.append(Reason("unlisted_diagnosis", f"{c} is not in the built-in diagnosis list: check it",
                                  "precaution", "clinical.md §5c"))
    psychotic = code_set & PSYCHOTIC_FEATURES_CODES
    if psychotic and "psychosis" not in data.history_flags:
        reasons.append(Reason("psychotic_features", f"Depression with psychotic features ({', '.join(sorted(psychotic))})",
                              "relative", "clinical.md §2 psychosis row (SPR-PI §5.2; C); §7 SAN17 (S)"))
    if depressive and depressive <= REMISSION_CODES:
        reasons.append(Reason("in_remission", "Depression recorded as in remission", "relative", "clinical.md §5c"))
    if esk:
        if not (depressive - REMISSION_CODES):
            reasons.append(Reason("esketamine_indication",
                                  "Esketamine is labelled for treatment-resistant MDD or MDD with acute suicidal "
                                  "ideation; no active MDD code (F32/F33) is recorded", "relative",
                                  "clinical.md §3b (C); §5d A59250 (C)"))
        if data.age_years is not None and data.age_years < ESKETAMINE_MIN_AGE_YEARS:
            reasons.append(Reason("esketamine_under_18", f"Age {data.age_years}: esketamine is labelled for adults "
                                  f"({ESKETAMINE_MIN_AGE_YEARS} and over) only and cannot be given. Discuss other "
                                  "treatment with the prescriber.", "absolute", _ADULTS_SOURCE))
        elif (data.age_years is not None
              and data.age_years >= int(cfg["eligibility.older_adult_age_years"])):  # type: ignore[arg-type]
            reasons.append(Reason("older_adult", "Older adult: some non-US labelling starts at 28 mg", "precaution",
                                  "clinical.md §3b '>= 65 y start 28 mg' row (S)"))
    # A missing age never passes silently, whatever the drug: record the date of birth first.
    if data.age_years is None:
        reasons.append(Reason("age_missing", "Age not recorded: record the patient's date of birth before "
                              "eligibility can be decided" + (" (esketamine is labelled for adults only)" if esk
                                                               else ""), "missing", _ADULTS_SOURCE))
    min_age = int(cfg["eligibility.min_age_years"])  # type: ignore[arg-type]
    label_minor = esk and data.age_years is not None and data.age_years < ESKETAMINE_MIN_AGE_YEARS
    if data.age_years is not None and data.age_years < min_age and not label_minor:
        reasons.append(Reason("minor", f"Age {data.age_years}: under the adult age {min_age}", "relative",
                              "clinical.md §3b (adults; C)"))
    suicidality = code_set & SUICIDALITY_CODES
    if suicidality:
        # Always a prescriber's decision (severity "relative" sends it to review whatever the precaution setting),
        # so a more symptomatic history can never make a patient look more eligible.
        reasons.append(Reason("suicidality", f"Suicidality recorded ({', '.join(sorted(suicidality))}): complete the "
                              "C-SSRS screener; a prescriber reviews before treatment", "relative",
                              "clinical.md §4 PHQ-9 / C-SSRS rows; §5c (C)"))

    # --- treatment resistance
    weeks_needed = float(cfg["eligibility.adequate_trial_weeks"])  # type: ignore[arg-type]
    failed = sum(1 for t in trials if _is_failed_adequate(t, weeks_needed))
    needed = int(cfg["eligibility.trd_min_failed_trials"])  # type: ignore[arg-type]
    mdsi = esk and "R45.851" in code_set
    if (depressive or bipolar) and not mdsi and failed < needed:
        sev = "missing" if not trials else "relative"
        reasons.append(Reason(
            "treatment_resistance",
            f"{failed} failed adequate trial(s) documented (adequate = adequate dose for >= {weeks_needed:g} weeks, "
            f"no or partial response); treatment-resistant needs >= {needed}",
            sev, "clinical.md §5c (TRD has no code; payers want documented failed trials, U); settings "
            "eligibility.adequate_trial_weeks / trd_min_failed_trials (unconfirmed)"))

    # --- medications
    for med in sorted(data.medication_classes, key=MEDICATION_CLASSES.index):
        text, source = _MED_RULES[med]
        reasons.append(Reason(med, text, "precaution", source))

    # --- blood pressure
    if sbp is None or dbp is None:
        reasons.append(Reason("baseline_bp_missing", "Baseline blood pressure not recorded", "missing",
                              "clinical.md §1 'Vitals: what' row: baseline BP before treatment (S)"))
    else:
        s_lim = int(cfg["eligibility.bp_review_systolic_mmHg"])  # type: ignore[arg-type]
        d_lim = int(cfg["eligibility.bp_review_diastolic_mmHg"])  # type: ignore[arg-type]
        if sbp > s_lim or dbp > d_lim:
            reasons.append(Reason("baseline_bp_elevated",
                                  f"Baseline BP {sbp}/{dbp} mmHg is above {s_lim}/{d_lim}: weigh the risk of a "
                                  "short-term rise against benefit", "relative",
                                  "clinical.md §1 'Pre-dose BP guide' row (SPR-PI §2/§5; U)"))

    if any(r.severity == "absolute" for r in reasons):
        outcome = "not_eligible"
    elif any(r.severity in ("relative", "missing") for r in reasons):
        outcome = "review"
    elif any(r.severity == "precaution" for r in reasons) and cfg["eligibility.precautions_need_review"]:
        outcome = "review"
    else:
        outcome = "eligible"
    return EligibilityDecision(outcome, tuple(reasons), failed)
