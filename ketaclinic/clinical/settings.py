"""Clinic-configurable thresholds used by the clinical rules, with their defaults and sources.

Every number a rule compares against lives here.  ``confirmed=True`` only where clinical.md marks the number
C (confirmed in the source text); numbers marked S or U there, and numbers clinical.md does not give at all,
are ``confirmed=False`` and their ``source`` says so.  A clinician must review every unconfirmed default
before go-live (clinical.md preamble: "a clinician and a compliance reviewer must sign off before any value
becomes a default").

Comparison convention used everywhere: an *upper* limit is breached when the value is strictly greater than
it (clinical.md writes "SBP > 180"); a *lower* limit is breached when the value is strictly less than it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ClinicalInputError

SettingValue = int | float | bool | str

NO_SOURCE = "No number in clinical.md: clinic placeholder default, chosen to err on the side of caution"


@dataclass(frozen=True)
class SettingSpec:
    """One clinic setting: dotted key, unit, default, allowed range, source and confirmation status."""

    key: str
    label: str
    unit: str
    default: SettingValue
    minimum: float | None
    maximum: float | None
    source: str
    confirmed: bool
    group: str
    help: str = ""
    choices: tuple[str, ...] = ()


V, D, OBS, OUT, SCH, ELIG, C, SC = (
    "Vital signs",
    "Dosing",
    "Observation and discharge",
    "Outcomes",
    "Schedules",
    "Eligibility",
    "Custody",
    "Rating scales",
)

_LABEL_BP_GUIDE = (
    "clinical.md §1 'Pre-dose BP guide (esketamine label)': > 140 systolic / > 90 diastolic mmHg, SPR-PI §2/§5 "
    "(status U: wording not retrieved)"
)
_IM_ABSORPTION = (
    "pk-models.md §1.4 'IM, adult' row: F 93% and Tmax 5-15 min, usually attributed to Clements 1982 (J Pharm Sci "
    "71:539); status U, only secondary summaries were seen. The absorption rate is solved from Tmax on each model "
    "(ketaclinic.clinical.pk.absorption)"
)
_DEL_SANT = (
    "clinical.md §1 'Thresholds' row: SBP > 180 and/or DBP > 110 mmHg = treatment-emergent transient "
    "hypertension (Del Sant 2020, J Psychopharmacol; status S)"
)
_PROTOCOL = (
    "clinical.md §1 'Thresholds' row: one academic esketamine clinic protocol, BP > 180/110 twice 5 min apart "
    "or > 200/120 once; HR > 120 sustained 5 min (forum post, weak; status S)"
)
_SPR_56 = "clinical.md §3c 'BP effect size' row: systolic >= +40 and/or diastolic >= +25 mmHg, SPR-PI §5.6 (C)"

SETTINGS: tuple[SettingSpec, ...] = (
    # ---------------------------------------------------------------- vital signs
    SettingSpec("vitals.pre_dose_systolic_hold_mmHg", "Pre-dose systolic: hold for prescriber review above",
                "mmHg", 140, 100, 220, _LABEL_BP_GUIDE, False, V,
                "Label guide: weigh the risk of a short-term BP rise against benefit before dosing."),
    SettingSpec("vitals.pre_dose_diastolic_hold_mmHg", "Pre-dose diastolic: hold for prescriber review above",
                "mmHg", 90, 60, 140, _LABEL_BP_GUIDE, False, V),
    SettingSpec("vitals.systolic_caution_mmHg", "Systolic caution above (during / recovery)", "mmHg", 140, 100, 220,
                _LABEL_BP_GUIDE + "; applying the pre-dose guide during the session is a clinic choice", False, V),
    SettingSpec("vitals.systolic_hold_mmHg", "Systolic hold (pause, recheck) above", "mmHg", 180, 120, 240,
                _DEL_SANT, False, V),
    SettingSpec("vitals.systolic_stop_mmHg", "Systolic stop above (single reading)", "mmHg", 200, 140, 260,
                _PROTOCOL, False, V),
    SettingSpec("vitals.diastolic_caution_mmHg", "Diastolic caution above (during / recovery)", "mmHg", 90, 60, 140,
                _LABEL_BP_GUIDE + "; applying the pre-dose guide during the session is a clinic choice", False, V),
    SettingSpec("vitals.diastolic_hold_mmHg", "Diastolic hold (pause, recheck) above", "mmHg", 110, 70, 150,
                _DEL_SANT, False, V),
    SettingSpec("vitals.diastolic_stop_mmHg", "Diastolic stop above (single reading)", "mmHg", 120, 80, 160,
                _PROTOCOL, False, V),
    SettingSpec("vitals.bp_repeat_minutes", "BP above the hold limit on two readings this far apart: stop", "min",
                5, 1, 30, _PROTOCOL, False, V),
    SettingSpec("vitals.systolic_low_hold_mmHg", "Systolic hold below", "mmHg", 90, 60, 120, NO_SOURCE, False, V,
                "clinical.md gives no hypotension limit (ketamine usually raises BP)."),
    SettingSpec("vitals.heart_rate_high_caution_bpm", "Heart rate caution above", "bpm", 100, 60, 160,
                NO_SOURCE, False, V),
    SettingSpec("vitals.heart_rate_high_hold_bpm", "Heart rate hold above", "bpm", 120, 80, 180, _PROTOCOL, False, V),
    SettingSpec("vitals.heart_rate_high_stop_bpm", "Heart rate stop above", "bpm", 140, 90, 200, NO_SOURCE, False, V),
    SettingSpec("vitals.heart_rate_sustained_minutes", "Heart rate above the hold limit for this long: stop", "min",
                5, 1, 30, _PROTOCOL, False, V),
    SettingSpec("vitals.heart_rate_low_caution_bpm", "Heart rate caution below", "bpm", 50, 30, 70, NO_SOURCE, False, V),
    SettingSpec("vitals.heart_rate_low_hold_bpm", "Heart rate hold below", "bpm", 45, 25, 65, NO_SOURCE, False, V),
    SettingSpec("vitals.heart_rate_low_stop_bpm", "Heart rate stop below", "bpm", 40, 20, 60, NO_SOURCE, False, V),
    SettingSpec("vitals.spo2_low_caution_percent", "SpO2 caution below", "%", 95, 80, 100,
                NO_SOURCE + " (clinical.md §1/§3c require continuous pulse oximetry but give no limit)", False, V),
    SettingSpec("vitals.spo2_low_hold_percent", "SpO2 hold below", "%", 92, 75, 100, NO_SOURCE, False, V),
    SettingSpec("vitals.spo2_low_stop_percent", "SpO2 stop below", "%", 90, 70, 100, NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_low_caution_per_min", "Respiratory rate caution below", "breaths/min", 10,
                4, 20, NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_low_hold_per_min", "Respiratory rate hold below", "breaths/min", 8, 4, 20,
                NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_low_stop_per_min", "Respiratory rate stop below", "breaths/min", 6, 2, 20,
                NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_high_caution_per_min", "Respiratory rate caution above", "breaths/min", 20,
                12, 60, NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_high_hold_per_min", "Respiratory rate hold above", "breaths/min", 24, 12, 60,
                NO_SOURCE, False, V),
    SettingSpec("vitals.respiratory_rate_high_stop_per_min", "Respiratory rate stop above", "breaths/min", 30, 12, 60,
                NO_SOURCE, False, V),
    SettingSpec("vitals.systolic_rise_mmHg", "Systolic rise from the patient's baseline that is flagged", "mmHg", 40,
                10, 80, _SPR_56, True, V, "Confirmed as the label's reporting threshold for esketamine."),
    SettingSpec("vitals.diastolic_rise_mmHg", "Diastolic rise from the patient's baseline that is flagged", "mmHg",
                25, 5, 60, _SPR_56, True, V),
    SettingSpec("vitals.baseline_rise_level", "Level given to a rise from baseline", "", "caution", None, None,
                NO_SOURCE + " (the label reports the rise; it does not say what to do)", False, V,
                choices=("caution", "hold")),
    SettingSpec("vitals.repeat_after_minutes", "Repeat a reading at HOLD or STOP after", "min", 5, 1, 15,
                "clinical.md §1 'Thresholds' row: one esketamine clinic's protocol takes two readings 5 min apart "
                "(forum post, S/weak); no authoritative number", False, V),
    SettingSpec("vitals.iv_interval_during_minutes", "IV: minutes between BP checks during the infusion", "min", 10,
                1, 30, "clinical.md §1 'Vitals: when' row (Emory series, 684 infusions; C)", True, V),
    SettingSpec("vitals.iv_interval_after_minutes", "IV: minutes between BP checks after the infusion", "min", 15, 1,
                60, "clinical.md §1 'Vitals: when' row (Emory series; C)", True, V),
    SettingSpec("vitals.im_interval_minutes", "IM: minutes between vitals checks after the injection", "min", 15, 1,
                60, "No IM interval in clinical.md; default mirrors the IV after-infusion interval (§1 Emory series)",
                False, V),
    SettingSpec("vitals.esketamine_interval_minutes", "Esketamine: minutes between vitals checks while observed",
                "min", 15, 1, 60, "clinical.md §3c 'BP' row gives before, ~40 min and 'as clinically warranted'; no "
                "interval, default mirrors the IV after-infusion interval (§1)", False, V),
    SettingSpec("vitals.esketamine_bp_check_minutes", "Esketamine: BP check this long after dosing", "min", 40, 20,
                90, "clinical.md §3c 'BP' row: before dosing and ~40 min after (SPR-HCP; C)", True, V),
    # ---------------------------------------------------------------- dosing
    SettingSpec("dosing.iv_default_mg_per_kg", "IV standard dose", "mg/kg", 0.5, 0.05, 1.0,
                "clinical.md §1 'Standard dose' row: 0.5 mg/kg over 40 min (Singh 2016 doi:10.1176/appi.ajp.2016."
                "16010037; Fava 2020 doi:10.1038/s41380-018-0256-5; C)", True, D),
    SettingSpec("dosing.iv_min_mg_per_kg", "IV allowed range: lowest dose without override", "mg/kg", 0.1, 0.05, 1.0,
                "clinical.md §1 'Dose range studied' / 'Range in practice' rows: 0.1 mg/kg lowest studied and used "
                "(Fava 2020; Andrade 2017; C)", True, D),
    SettingSpec("dosing.iv_max_mg_per_kg", "IV allowed range: highest dose without override", "mg/kg", 0.75, 0.1,
                1.0, "clinical.md §1 'Range in practice' row: some patients need up to 0.75 mg/kg (Andrade 2017, "
                "J Clin Psychiatry 78(7):e852; C)", True, D),
    SettingSpec("dosing.iv_ceiling_mg_per_kg", "IV hard ceiling (never passed, even with override)", "mg/kg", 1.0,
                0.1, 1.0, "clinical.md §1 'Dose range studied' row: 1.0 mg/kg highest dose studied (Fava 2020; C)",
                True, D),
    SettingSpec("dosing.iv_default_minutes", "IV standard infusion time", "min", 40, 2, 100,
                "clinical.md §1 'Standard dose' row (Singh 2016; Fava 2020; C)", True, D),
    SettingSpec("dosing.iv_min_minutes", "IV shortest infusion without override", "min", 40, 2, 100,
                "clinical.md §1 'Standard dose' row (40 min; C); shorter needs an override as a clinic choice",
                True, D),
    SettingSpec("dosing.iv_max_minutes", "IV longest infusion without override", "min", 100, 40, 240,
                "clinical.md §1 'Range in practice' row: sessions of 2-100 min reported safe (Andrade 2017; C)",
                True, D),
    SettingSpec("dosing.iv_hard_min_minutes", "IV absolute shortest infusion (never passed)", "min", 2, 1, 40,
                "clinical.md §1 'Range in practice' row: 2 min shortest reported (Andrade 2017; C)", True, D),
    SettingSpec("dosing.im_min_mg_per_kg", "IM allowed range: lowest dose without override", "mg/kg", 0.25, 0.05,
                1.0, "clinical.md §3a 'Doses studied' row: 0.25 and 0.5 mg/kg IM (Chilukuri 2014 "
                "doi:10.4103/0253-7176.127258; C)", True, D),
    SettingSpec("dosing.im_max_mg_per_kg", "IM allowed range: highest dose without override", "mg/kg", 0.5, 0.1,
                1.0, "clinical.md §3a 'Doses studied' row (Chilukuri 2014; C)", True, D),
    SettingSpec("dosing.im_ceiling_mg_per_kg", "IM hard ceiling (never passed, even with override)", "mg/kg", 1.0,
                0.1, 1.0, "clinical.md §3a 'Clinic IM range (0.5-1 mg/kg)' row (status U)", False, D),
    SettingSpec("dosing.esketamine_first_dose_mg", "Esketamine first-session dose (TRD)", "mg", 56, 28, 56,
                "clinical.md §3b TRD row: day-1 dose 56 mg, 84 mg only after the 56 mg start (C); may be set lower "
                "(28 mg) but never above the label's 56 mg", True, D),
    SettingSpec("dosing.esketamine_max_dose_mg", "Esketamine highest session dose", "mg", 84, 28, 84,
                "clinical.md §3b TRD/MDSI rows: 56 or 84 mg (C)", True, D),
    SettingSpec("dosing.esketamine_device_interval_minutes", "Esketamine: minutes between devices", "min", 5, 5, 15,
                "clinical.md §3b 'Device' row: wait 5 min between devices (C)", True, D),
    SettingSpec("titration.sessions_before_step_up", "Titration: sessions at a dose before a step up may be "
                "proposed", "sessions", 2, 1, 12, NO_SOURCE + " (issue 21: clinics step up when the response is "
                "weak after a number of sessions)", False, D),
    SettingSpec("titration.step_down_on_bp_rise", "Titration: a blood-pressure rise at the label's reporting "
                "threshold steps the next dose down", "", True, None, None, _SPR_56 + " for the threshold; stepping "
                "down after it is a clinic rule (issue 21; U)", False, D),
    SettingSpec("titration.step_down_adverse_severity", "Titration: an adverse event at or above this severity "
                "steps the next dose down (vomiting always does)", "", "moderate", None, None, NO_SOURCE +
                " (issue 21: step down after troublesome dissociation, a BP rise or vomiting)", False, D,
                choices=("mild", "moderate", "severe")),
    SettingSpec("titration.step_down_cadss_at_or_above", "Titration: peak CADSS at or above this steps the next dose "
                "down (0 = no cut-off)", "points", 0, 0, 92, "No published CADSS cut-off for a dose reduction: "
                "clinical.md §4 CADSS row gives only the 23-item range 0-92 (C), and Luckenbaugh 2014 (doi:10.1016/"
                "j.jad.2014.02.017) found more dissociation went with a stronger response. Off until the medical "
                "director sets one; troublesome dissociation recorded as an adverse event steps down meanwhile",
                False, D),
    SettingSpec("dosing.esketamine_allow_28mg", "Esketamine: allow a 28 mg dose without override", "", False, None,
                None, "clinical.md §3b '>= 65 y start 28 mg' row: EU/HK labelling only (S non-US, U for US)",
                False, D),
    SettingSpec("dosing.weight_basis", "Default weight basis", "", "actual", None, None,
                "clinical.md §1 'Weight basis' row: actual body weight is usual (SAN17, status U)", False, D,
                choices=("actual", "adjusted")),
    SettingSpec("dosing.obesity_bmi", "BMI above which adjusted weight may be used", "kg/m2", 30, 25, 50,
                "clinical.md §1 'Weight basis' row: SAN17 discusses BMI > 30 (status U)", False, D),
    SettingSpec("dosing.adjusted_weight_factor", "Adjusted body weight factor (IBW + factor x (actual - IBW))", "",
                0.4, 0.0, 1.0, "Not in clinical.md: standard pharmacy formula (Devine ideal body weight plus 0.4 "
                "of the excess); unconfirmed", False, D),
    SettingSpec("dosing.weight_change_flag_percent", "Weight change since the last weight that stops dose "
                "preparation until re-weighed or confirmed by a second clinician: more than", "%",
                10, 1, 50, "Issue 3 requirement (10%); no number in clinical.md", False, D),
    SettingSpec("dosing.lb_as_kg_tolerance_percent", "Pounds-entered-as-kg check: tolerance around x2.2046", "%", 5,
                1, 15, NO_SOURCE + " (software plausibility check; 1 kg = 2.2046 lb is a unit definition)", False, D),
    SettingSpec("dosing.min_weight_kg", "Lowest plausible adult weight (below: rejected)", "kg", 30, 20, 60,
                NO_SOURCE + " (input sanity limit, not a clinical threshold)", False, D),
    SettingSpec("dosing.max_weight_kg", "Highest plausible weight (above: rejected)", "kg", 350, 150, 500,
                NO_SOURCE + " (input sanity limit, not a clinical threshold)", False, D),
    SettingSpec("dosing.min_bmi", "First weight on file: lowest plausible adult BMI (below: re-weigh or confirm)",
                "kg/m2", 15, 10, 20, NO_SOURCE + " (input plausibility check, not a clinical threshold)", False, D),
    SettingSpec("dosing.max_bmi", "First weight on file: highest plausible adult BMI (above: re-weigh or confirm)",
                "kg/m2", 45, 35, 80, NO_SOURCE + " (input plausibility check: a weight in pounds typed as kg "
                "roughly doubles the BMI, e.g. 70 kg at 175 cm is 22.9 and '154 kg' is 50.3)", False, D),
    SettingSpec("dosing.iv_max_rate_mg_per_kg_per_min", "IV: fastest infusion without a prescriber override",
                "mg/kg/min", 0.01875, 0.001, 0.49,
                "No rate in clinical.md: default = 0.75 mg/kg over 40 min, the fastest the clinic's default dose "
                "range and infusion time allow (clinical.md §1 'Range in practice' / 'Standard dose'); unconfirmed. "
                "Always below the label's induction rate 0.5 mg/kg/min, which is a hard limit and not a setting",
                False, D),
    SettingSpec("dosing.max_concentration_mg_per_mL", "Highest vial concentration accepted", "mg/mL", 100, 1, 100,
                "clinical.md §5b/§6: 100 mg/mL is the strongest ketamine strength named (C for the code, S for "
                "being the strongest)", False, D),
    SettingSpec("dosing.max_bag_volume_mL", "Largest infusion bag accepted", "mL", 1000, 10, 2000,
                NO_SOURCE + " (input sanity limit)", False, D),
    # ---------------------------------------------------------------- observation and discharge
    SettingSpec("observation.esketamine_min_minutes", "Esketamine: minimum observation from the last device", "min",
                120, 120, 480, "clinical.md §3c 'Observation' row: monitor >= 2 h (SPR-PI boxed warning; REMS; C)",
                True, OBS, "Cannot be set below the label's 120 minutes."),
    SettingSpec("observation.iv_min_minutes", "IV: minimum observation after the infusion ends", "min", 90, 30, 480,
                "clinical.md §1 'Observation / discharge, IV' row: no standard; BP/HR back to baseline within "
                "about 90 min (Szarmach 2020 doi:10.2147/NDT.S273287; status S)", False, OBS),
    SettingSpec("observation.im_min_minutes", "IM: minimum observation after the injection", "min", 120, 30, 480,
                NO_SOURCE + " (mirrors the esketamine label's 2 h)", False, OBS),
    SettingSpec("discharge.systolic_tolerance_mmHg", "Discharge: systolic within this of baseline", "mmHg", 20, 5,
                60, NO_SOURCE + " (clinical.md §1 says 'back to baseline' without a tolerance)", False, OBS),
    SettingSpec("discharge.diastolic_tolerance_mmHg", "Discharge: diastolic within this of baseline", "mmHg", 10, 5,
                40, NO_SOURCE, False, OBS),
    SettingSpec("discharge.heart_rate_tolerance_bpm", "Discharge: heart rate within this of baseline", "bpm", 20, 5,
                60, NO_SOURCE, False, OBS),
    SettingSpec("discharge.no_driving_ack_required", "Discharge (IV/IM): no-driving acknowledgement required", "",
                True, None, None, "clinical.md §1 'Escort / driving' row: no driving until the next day after sleep "
                "(SPR-PI §17; C for esketamine, S for IV/IM). Always required for esketamine", False, OBS),
    SettingSpec("pk.iv_model", "Predicted level (racemic IV): the published model in use", "", "domino", None, None,
                "pk-models.md §1.1: Domino is the usual TCI default (STANPUMP, stanpumpR; status S); Clements and "
                "Hijazi are the other adult models (S, U). No source says which predicts a clinic's patients best: "
                "the model in use is the clinic's choice (U). The cockpit shows all three side by side", False, OBS,
                "The curve the cockpit names and times; the other models are drawn as the spread around it.",
                choices=("domino", "clements", "hijazi")),
    SettingSpec("pk.ketamine_below_ng_per_mL", "Predicted racemic ketamine level: show when it falls below",
                "ng/mL", 10, 1, 500, NO_SOURCE + ": no source in clinical.md or pk-models.md gives a plasma level "
                "for recovery or discharge. 10 ng/mL is a clinic choice, the lowest level pk-models.md §1.5 reports "
                "a computed crossing for, set low so that the predicted time errs late", False, OBS,
                "Advice beside the discharge readiness (a model estimate, not a measured level), never a discharge "
                "criterion."),
    SettingSpec("pk.esketamine_below_ng_per_mL", "Predicted esketamine level: show when it falls below", "ng/mL", 10,
                1, 500, NO_SOURCE + ": no source in clinical.md or pk-models.md gives an esketamine plasma level "
                "for recovery or discharge (the 2 h REMS monitoring is the label's rule). 10 ng/mL is a clinic "
                "choice, set low so that the predicted time errs late", False, OBS,
                "Advice only (a model estimate, not a measured level); never a discharge criterion."),
    SettingSpec("pk.im_bioavailability", "Predicted level (IM): bioavailability of an adult IM injection", "fraction",
                0.93, 0.05, 1.0, _IM_ABSORPTION + " (F 93%)", False, OBS,
                "The fraction of an IM dose that reaches the blood in the IM curves (a model estimate, not a measured "
                "level)."),
    SettingSpec("pk.im_tmax_min_low", "Predicted level (IM): earliest time to peak after an injection", "min", 5, 1,
                120, _IM_ABSORPTION + " (Tmax 5 min, the range's early end)", False, OBS,
                "Each model's IM curve is drawn once peaking at this time and once at the latest time below."),
    SettingSpec("pk.im_tmax_min_high", "Predicted level (IM): latest time to peak after an injection", "min", 15, 1,
                120, _IM_ABSORPTION + " (Tmax 15 min, the range's late end)", False, OBS,
                "The time below the clinic's level is the latest across the models and both times to peak."),
    # ---------------------------------------------------------------- outcomes
    SettingSpec("outcomes.response_percent", "Response: reduction from baseline of at least (depression scales)",
                "%", 50, 10, 100, "clinical.md §4 'Response and remission' table: >= 50% (Cochrane CD011612.pub3; C)",
                True, OUT),
    SettingSpec("outcomes.gad7_response_percent", "GAD-7 response: reduction of at least", "%", 50, 10, 100,
                NO_SOURCE + " (the 50% depression rule applied to GAD-7)", False, OUT),
    SettingSpec("outcomes.pcl5_response_percent", "PCL-5 response: reduction of at least", "%", 30, 10, 100,
                "clinical.md §4 table: PTSD response >= 30% was defined on CAPS-5 (Feder 2021; C); applying it to "
                "PCL-5 is unconfirmed", False, OUT),
    SettingSpec("outcomes.phq9_remission_max", "PHQ-9 remission: total at most", "points", 4, 0, 27,
                "clinical.md §4 table: PHQ-9 remission < 5 (common convention; U)", False, OUT),
    SettingSpec("outcomes.madrs_remission_max", "MADRS remission: total at most", "points", 12, 0, 60,
                "clinical.md §4 MADRS row and table: <= 12 (PMC10769130); <= 10 alternative; Zimmerman 2004 <= 9 "
                "or <= 4 (C)", True, OUT),
    SettingSpec("outcomes.qids_remission_max", "QIDS-SR16 remission: total at most", "points", 5, 0, 27,
                "clinical.md §4 QIDS-SR16 row: remission <= 5 (STAR*D; S)", False, OUT),
    SettingSpec("outcomes.pcl5_cutpoint", "PCL-5 provisional PTSD cut-point (total at or above)", "points", 31, 0, 80,
                "clinical.md §4 PCL-5 row: cut-point 31-33 (older guidance 38) (C)", True, OUT,
                "31 is the lower, more sensitive end of the published 31-33 range."),
    SettingSpec("outcomes.pcl5_meaningful_change_points", "PCL-5 clinically meaningful change", "points", 10, 1, 40,
                "clinical.md §4 PCL-5 row: 10 points clinically meaningful (S)", False, OUT),
    SettingSpec("outcomes.pcl5_reliable_change_points", "PCL-5 reliable change", "points", 5, 1, 40,
                "clinical.md §4 PCL-5 row: 5 points reliable (S)", False, OUT),
    SettingSpec("outcomes.relapse_rise_phq9_points", "PHQ-9 loss of response: rise from post-induction low of",
                "points", 5, 0, 27, "Issue 3 example (+5 from the post-induction nadir); no number in clinical.md",
                False, OUT, "0 switches the rule off."),
    SettingSpec("outcomes.relapse_rise_pcl5_points", "PCL-5 loss of response: rise from post-induction low of",
                "points", 10, 0, 80, "clinical.md §4 PCL-5 row: 10-point change clinically meaningful (S), used as "
                "the relapse rise", False, OUT, "0 switches the rule off."),
    SettingSpec("outcomes.relapse_rise_qids_sr16_points", "QIDS-SR16 loss of response: rise of (0 = not set)",
                "points", 0, 0, 27, "No number in clinical.md: not configured until the clinic sets it", False, OUT),
    SettingSpec("outcomes.relapse_rise_madrs_points", "MADRS loss of response: rise of (0 = not set)", "points", 0,
                0, 60, "No number in clinical.md: not configured until the clinic sets it", False, OUT),
    SettingSpec("outcomes.relapse_rise_gad7_points", "GAD-7 loss of response: rise of (0 = not set)", "points", 0,
                0, 21, "No number in clinical.md: not configured until the clinic sets it", False, OUT),
    SettingSpec("outcomes.after_induction_window_days", "Outcomes report: the score after induction is the first "
                "one within this many days of the last induction session", "days", 7, 1, 42,
                NO_SOURCE + " (7 days takes the clinic's own 24-hour and 7-day after-dosing scores, and no later "
                "score that may reflect fading or further treatment)", False, OUT,
                "A patient with no finalised score in the window has no after-induction result and is not counted."),
    # ---------------------------------------------------------------- rating scales
    SettingSpec("scales.madrs_item10_task_at_or_above", "MADRS item 10 (suicidal thoughts): open the suicide-risk "
                "task at or above", "points", 2, 1, 4,
                "MADRS item 10 anchors (Montgomery & Asberg 1979, as reproduced in Perroud 2009 BMC Med 7:60 "
                "doi:10.1186/1741-7015-7-60 Table 1; S): 0-1 enjoys life, 2-3 weary of life with only fleeting "
                "suicidal thoughts, 4-5 suicide considered a possible solution, 6 explicit plans. 2 is the first "
                "anchor naming suicidal thoughts, as PHQ-9 item 9 > 0 (clinical.md §4, practice rule U); no source "
                "gives a threshold. 6 always opens the task; the setting cannot go above 4", False, SC),
    SettingSpec("sedation.moaas_urgent_at_or_below", "MOAA/S at or below this is deep sedation: urgent alert",
                "points", 2, 2, 4,
                "MOAA/S levels (Chernik 1990, U); J&J Medical Information on SPRAVATO sedation (2024): MOAA/S "
                "scores follow the ASA sedation continuum, 4 = mild, <= 3 = moderate or greater (S); MOAA/S 2 "
                "(responds only to prodding or shaking) and below = deep sedation in that continuum, airway risk "
                "(issue 10). Cannot be set below 2", False, SC),
    SettingSpec("safety.task_acknowledge_hours", "Suicidality task: the safety report calls it late when not "
                "acknowledged within", "hours", 1, 1, 72,
                NO_SOURCE + " (clinical.md §4 asks for a suicide-risk workflow on PHQ-9 item 9 > 0 but gives no "
                "time; any such answer needs a person now, so the default is the shortest the setting allows)",
                False, SC),
    # ---------------------------------------------------------------- schedules
    SettingSpec("schedules.induction_sessions", "Induction series: number of sessions", "", 6, 1, 12,
                "clinical.md §1 'Induction series, PTSD' and 'Other schedules' rows: 6 infusions over 2 weeks "
                "(Feder 2021 doi:10.1176/appi.ajp.2020.20050596; C)", True, SCH),
    SettingSpec("schedules.induction_per_week", "Induction series: sessions per week", "", 3, 1, 3,
                "clinical.md §1 'Induction series' rows: 2x or 3x weekly (Singh 2016; Feder 2021; C)", True, SCH),
    SettingSpec("schedules.induction_min_spacing_days", "Induction series: minimum days between sessions", "days", 1,
                1, 7, NO_SOURCE + " (3x weekly implies sessions on different days)", False, SCH),
    SettingSpec("schedules.induction_max_weeks", "Induction series: longest span", "weeks", 4, 1, 8,
                "clinical.md §1 'Induction series, TRD' row: up to 4 weeks (Singh 2016; C)", True, SCH),
    SettingSpec("schedules.integration_start_hours", "Integration session: earliest after dosing", "h", 24, 0, 168,
                "Issue 3 (24-72 h); no number in clinical.md. Seed ref 18 (Krystal 2019 doi:10.1016/j.neuron.2019."
                "02.005) describes improvement within 24-72 h, not integration timing", False, SCH),
    SettingSpec("schedules.integration_end_hours", "Integration session: latest after dosing", "h", 72, 1, 336,
                "Issue 3 (24-72 h); no number in clinical.md", False, SCH),
    SettingSpec("schedules.esketamine_maintenance_every_weeks", "Esketamine maintenance (week 9+): every N weeks",
                "weeks", 2, 1, 2, "clinical.md §3b TRD row: every 2 weeks or weekly (C)", True, SCH),
    # ---------------------------------------------------------------- eligibility
    SettingSpec("eligibility.adequate_trial_weeks", "Adequate antidepressant trial: at least this many weeks",
                "weeks", 6, 2, 16, NO_SOURCE, False, ELIG),
    SettingSpec("eligibility.trd_min_failed_trials", "Treatment-resistant: failed adequate trials at least", "", 2,
                1, 6, "clinical.md §5c: TRD has no ICD-10-CM code; payers want documented failed trials (U); "
                "'2 or more' is the usual definition (issue 3), unconfirmed", False, ELIG),
    SettingSpec("eligibility.bp_review_systolic_mmHg", "Baseline systolic above this needs prescriber review",
                "mmHg", 140, 100, 220, _LABEL_BP_GUIDE, False, ELIG),
    SettingSpec("eligibility.bp_review_diastolic_mmHg", "Baseline diastolic above this needs prescriber review",
                "mmHg", 90, 60, 140, _LABEL_BP_GUIDE, False, ELIG),
    SettingSpec("eligibility.min_age_years", "Adult age: younger needs prescriber review", "years", 18, 0, 30,
                "clinical.md §3b: esketamine is labelled for adults (C)", True, ELIG),
    SettingSpec("eligibility.older_adult_age_years", "Esketamine: older-adult precaution from age", "years", 65, 50,
                90, "clinical.md §3b '>= 65 y start 28 mg' row (EU/HK labelling; S)", False, ELIG),
    SettingSpec("eligibility.precautions_need_review", "Precautions (e.g. CNS depressants) send to review", "", True,
                None, None, NO_SOURCE + " (clinical.md §2 lists them as precautions)", False, ELIG),
    # ---------------------------------------------------------------- custody
    SettingSpec("custody.opened_vial_beyond_use_hours", "Opened vial: discard after", "h", 24, 0, 672,
                NO_SOURCE + "; check the product label and USP <797>", False, C),
    SettingSpec("custody.waste_witness_count", "Wastage witnesses", "", 2, 1, 3,
                "clinical.md §6 'Wastage' row: no federal witness count; state/institutional policy, default 2 "
                "licensed staff (U)", False, C),
    SettingSpec("custody.routine_count_frequency", "Routine stock count", "", "daily", None, None, NO_SOURCE, False, C,
                choices=("each_session", "daily", "weekly", "monthly")),
    SettingSpec("custody.inventory_interval_months", "Full inventory at least every", "months", 24, 1, 24,
                "clinical.md §6 'Biennial inventory' row (21 CFR 1304.11(c); S); some states annual (OR, IA; C)",
                False, C),
    SettingSpec("custody.record_retention_years", "Keep custody records for at least", "years", 2, 2, 10,
                "clinical.md §6 'Retention' row (21 CFR 1304.04; S); Oregon 3 years (C)", False, C),
    SettingSpec("custody.theft_notice_business_days", "Theft/significant loss: written notice to DEA within",
                "business days", 1, 1, 1, "clinical.md §6 'Theft / significant loss' row (88 FR 40707; C)", True, C),
    SettingSpec("custody.dea106_days", "Theft/significant loss: DEA Form 106 filed within", "days", 45, 1, 45,
                "clinical.md §6 'Theft / significant loss' row (C)", True, C),
    SettingSpec("custody.rems_form_days", "Spravato REMS Patient Monitoring Form submitted within", "days", 7, 1, 7,
                "clinical.md §3c 'Patient Monitoring Form' row (C)", True, C),
)

SETTINGS_BY_KEY: dict[str, SettingSpec] = {s.key: s for s in SETTINGS}
if len(SETTINGS_BY_KEY) != len(SETTINGS):  # pragma: no cover - guards against a duplicated key
    raise RuntimeError("duplicate setting key")

# Ordered limit families that must stay consistent: (keys in increasing order of value).
_ASCENDING: tuple[tuple[str, ...], ...] = (
    ("vitals.systolic_caution_mmHg", "vitals.systolic_hold_mmHg", "vitals.systolic_stop_mmHg"),
    ("vitals.diastolic_caution_mmHg", "vitals.diastolic_hold_mmHg", "vitals.diastolic_stop_mmHg"),
    ("vitals.heart_rate_high_caution_bpm", "vitals.heart_rate_high_hold_bpm", "vitals.heart_rate_high_stop_bpm"),
    ("vitals.heart_rate_low_stop_bpm", "vitals.heart_rate_low_hold_bpm", "vitals.heart_rate_low_caution_bpm"),
    ("vitals.spo2_low_stop_percent", "vitals.spo2_low_hold_percent", "vitals.spo2_low_caution_percent"),
    ("vitals.respiratory_rate_low_stop_per_min", "vitals.respiratory_rate_low_hold_per_min",
     "vitals.respiratory_rate_low_caution_per_min"),
    ("vitals.respiratory_rate_high_caution_per_min", "vitals.respiratory_rate_high_hold_per_min",
     "vitals.respiratory_rate_high_stop_per_min"),
    ("vitals.respiratory_rate_low_caution_per_min", "vitals.respiratory_rate_high_caution_per_min"),
    ("vitals.heart_rate_low_caution_bpm", "vitals.heart_rate_high_caution_bpm"),
    ("vitals.systolic_low_hold_mmHg", "vitals.systolic_caution_mmHg"),
    ("vitals.pre_dose_systolic_hold_mmHg", "vitals.systolic_stop_mmHg"),
    ("vitals.pre_dose_diastolic_hold_mmHg", "vitals.diastolic_stop_mmHg"),
    ("dosing.iv_min_mg_per_kg", "dosing.iv_default_mg_per_kg", "dosing.iv_max_mg_per_kg",
     "dosing.iv_ceiling_mg_per_kg"),
    ("dosing.im_min_mg_per_kg", "dosing.im_max_mg_per_kg", "dosing.im_ceiling_mg_per_kg"),
    ("dosing.iv_hard_min_minutes", "dosing.iv_min_minutes", "dosing.iv_default_minutes", "dosing.iv_max_minutes"),
    ("dosing.esketamine_first_dose_mg", "dosing.esketamine_max_dose_mg"),
    ("dosing.min_weight_kg", "dosing.max_weight_kg"),
    ("dosing.min_bmi", "dosing.max_bmi"),
    ("schedules.integration_start_hours", "schedules.integration_end_hours"),
    ("pk.im_tmax_min_low", "pk.im_tmax_min_high"),
)


def defaults() -> dict[str, SettingValue]:
    """Every setting's default value, keyed by setting key (see :data:`SETTINGS` for sources)."""
    return {s.key: s.default for s in SETTINGS}


_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}


def _number(raw: object, key: str, *, whole: bool) -> int | float:
    """A number setting's value as stored or typed: for a whole-number setting an int (a float only when it is
    whole), else a finite number; text is read after trimming."""
    what = "a whole number" if whole else "a number"
    convert = int if whole else float
    if isinstance(raw, str):
        try:
            number = convert(raw.strip())
        except ValueError:
            raise ClinicalInputError(f"must be {what}, got {raw!r}", key) from None
    elif isinstance(raw, int) or (isinstance(raw, float) and (raw.is_integer() or not whole)):
        number = convert(raw)
    else:
        raise ClinicalInputError(f"must be {what}, got {raw!r}", key)
    if not whole and (number != number or number in (float("inf"), float("-inf"))):
        raise ClinicalInputError("must be a finite number", key)
    return number


def _coerce(spec: SettingSpec, raw: object) -> SettingValue:
    key = spec.key
    if isinstance(spec.default, bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ClinicalInputError(f"must be true or false, got {raw!r}", key)
    if isinstance(spec.default, str):
        if not isinstance(raw, str):
            raise ClinicalInputError(f"must be text, got {type(raw).__name__}", key)
        value = raw.strip()
        if spec.choices and value not in spec.choices:
            raise ClinicalInputError(f"must be one of {', '.join(spec.choices)}; got {value!r}", key)
        return value
    if isinstance(raw, bool) or raw is None:
        raise ClinicalInputError(f"must be a number, got {raw!r}", key)
    number = _number(raw, key, whole=isinstance(spec.default, int))
    if spec.minimum is not None and number < spec.minimum:
        raise ClinicalInputError(f"{number} {spec.unit} is below the allowed minimum {spec.minimum:g}", key)
    if spec.maximum is not None and number > spec.maximum:
        raise ClinicalInputError(f"{number} {spec.unit} is above the allowed maximum {spec.maximum:g}", key)
    return number


#: Settings that existed once and were withdrawn, with why; a clinic's stored value for one is ignored.
RETIRED_KEYS = {
    "discharge.escort_required": "An escort is required for every route and no override waives it (rule "
                                 "discharge.escort, issue 11): it is no longer a clinic setting.",
}


class Resolved(dict):
    """A clinic's settings as :func:`validate_settings` answered them: every key, each value checked. Read-only, so
    one answer can be shared by every rule of a request and handed to :func:`resolve` again without being checked
    again (a Today board resolved the same settings once per tile); to change a value, validate a new mapping
    (``validate_settings({**resolved, key: value})``)."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("resolved settings are read-only: validate a new mapping instead")

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self):  # copy, deepcopy and pickle build a new one from its items, not item by item
        return (Resolved, (dict(self),))


def validate_settings(values: Mapping[str, object]) -> Resolved:
    """Merge ``values`` over :func:`defaults`, coerce types and check ranges and ordering.

    Raises :class:`ClinicalInputError` (``field`` = the setting key) for an unknown key, a value of the wrong
    type, a value outside the setting's range, or limits out of order (e.g. a caution limit above the hold
    limit).  Sources: see each :class:`SettingSpec`.

    The answer is read-only (:class:`Resolved`); one that is given back is returned as it is. The same values
    give the same answer, so the last few answers are remembered (a vitals save resolves the clinic's settings
    several times); a refusal is never remembered.
    """
    if type(values) is Resolved:
        return values
    if not isinstance(values, Mapping):
        raise ClinicalInputError(f"settings must be a mapping, got {type(values).__name__}")
    try:  # each value with its type, so that True and 1 (equal in Python) are not taken for one another
        key = tuple(sorted(((k, type(v), v) for k, v in values.items()), key=lambda kv: str(kv[0])))
        hash(key)
    except TypeError:  # a value that cannot be a key (a list, say): checked afresh, and refused below
        return Resolved(_validate(values))
    return _validated(key)


@functools.lru_cache(maxsize=64)
def _validated(items: tuple[tuple[str, type, object], ...]) -> Resolved:
    return Resolved(_validate({k: v for k, _, v in items}))


def _validate(values: Mapping[str, object]) -> dict[str, SettingValue]:
    merged = defaults()
    for key, raw in values.items():
        if key in RETIRED_KEYS:  # a clinic's stored value of a setting that no longer exists: not used
            continue
        spec = SETTINGS_BY_KEY.get(key)
        if spec is None:
            raise ClinicalInputError("unknown setting key", str(key))
        merged[key] = _coerce(spec, raw)
    for family in _ASCENDING:
        for lower, upper in zip(family, family[1:], strict=False):
            if float(merged[lower]) > float(merged[upper]):
                changed = upper if upper in values else lower
                raise ClinicalInputError(
                    f"{lower} ({merged[lower]}) must not be greater than {upper} ({merged[upper]})", changed
                )
    return merged


_DEFAULTS_CACHE = defaults()


def resolve(settings: Mapping[str, object] | None) -> dict[str, SettingValue]:
    """Settings to use inside a rule: the defaults when ``None``, else :func:`validate_settings` (an answer of it,
    :class:`Resolved`, as it is)."""
    if settings is None:
        return dict(_DEFAULTS_CACHE)
    return validate_settings(settings)


def spec(key: str) -> SettingSpec:
    """The :class:`SettingSpec` for ``key``; raises :class:`ClinicalInputError` for an unknown key."""
    try:
        return SETTINGS_BY_KEY[key]
    except KeyError:
        raise ClinicalInputError("unknown setting key", key) from None
