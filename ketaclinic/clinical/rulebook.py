"""The rulebook: every clinical rule with its source and whether its numbers are confirmed.

``python -m ketaclinic.clinical`` prints it, so a clinician can review the whole rulebook in one place.
Status letters follow clinical.md: C = confirmed in the source text, S = secondary source only,
U = unconfirmed (or not in the reference at all: the number is an unconfirmed clinic setting).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .settings import SETTINGS, SETTINGS_BY_KEY


@dataclass(frozen=True)
class Rule:
    """One rule: what it says, where it comes from, the reference's status for it, and its settings."""

    id: str
    area: str
    statement: str
    source: str
    status: str  # "C" | "S" | "U"
    setting_keys: tuple[str, ...] = ()


#: The seed article's reference list (numbered as in the article); rules cite them as [seed N].
SEED_REFERENCES: dict[int, str] = {
    6: "Singh JB et al. IV ketamine dose-frequency study in TRD. Am J Psychiatry 2016;173(8):816-826. "
       "doi:10.1176/appi.ajp.2016.16010037",
    7: "Fava M et al. Dose-ranging trial of IV ketamine in TRD. Mol Psychiatry 2020;25(7):1592-1603. "
       "doi:10.1038/s41380-018-0256-5",
    8: "Luckenbaugh DA et al. Do the dissociative side effects of ketamine mediate its antidepressant effects? "
       "J Affect Disord 2014;159:56-61. doi:10.1016/j.jad.2014.02.017",
    11: "Feder A et al. IV ketamine for chronic PTSD: a randomized clinical trial. JAMA Psychiatry 2014;71(6):681-688. "
        "doi:10.1001/jamapsychiatry.2014.62",
    12: "Feder A et al. Repeated ketamine administration for chronic PTSD. Am J Psychiatry 2021;178(2):193-202. "
        "doi:10.1176/appi.ajp.2020.20050596",
    14: "McGirr A et al. Ketamine in major depressive episodes: meta-analysis. Psychol Med 2015;45(4):693-704. "
        "doi:10.1017/S0033291714001603",
    15: "Bartoli F et al. Ketamine as a rapid-acting agent for suicidal ideation: a meta-analysis. Neurosci Biobehav "
        "Rev 2017;77:232-236. doi:10.1016/j.neubiorev.2017.03.010",
    16: "Ballard ED et al. Improvement in suicidal ideation after ketamine infusion. J Psychiatr Res 2014;58:161-166. "
        "doi:10.1016/j.jpsychires.2014.07.027",
    18: "Krystal JH et al. Ketamine: a paradigm shift for depression research and treatment. Neuron "
        "2019;101(5):774-778. doi:10.1016/j.neuron.2019.02.005",
}

_V = "Vital signs"
RULES: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- scales
    Rule("scales.phq9", "Rating scales",
         "PHQ-9: 9 items 0-3, total 0-27; bands 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 "
         "severe; >= 10 detects MDD (88%/88%). LOINC panel 44249-1, total 44261-6, items and answers per §5a.",
         "clinical.md §4 PHQ-9 row; §5a; Kroenke 2001 J Gen Intern Med 16:606, PMC1495268", "C"),
    Rule("scales.phq9_item9", "Rating scales",
         "PHQ-9 item 9 above 0 raises an urgent flag: start the C-SSRS screener before any dosing (even on an "
         "incomplete form).", "clinical.md §4 PHQ-9 row (standard practice, not Kroenke)", "U"),
    Rule("scales.gad7", "Rating scales",
         "GAD-7: 7 items 0-3, total 0-21; 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe; >= 10 positive screen. "
         "LOINC total 70274-6 (C), panel 69737-5 (S).", "clinical.md §4 GAD-7 row; Spitzer 2006", "C"),
    Rule("scales.pcl5", "Rating scales",
         "PCL-5: 20 items 0-4, total 0-80, past month; clusters B 1-5, C 6-7, D 8-14, E 15-20; DSM-5 rule: item >= 2 "
         "endorsed, need 1 B, 1 C, 2 D, 2 E; provisional PTSD at the cut-point (31-33). No severity bands. LOINC total "
         "91006-2 is U.", "clinical.md §4 PCL-5 row", "C",
         ("outcomes.pcl5_cutpoint",)),
    Rule("scales.qids_sr16", "Rating scales",
         "QIDS-SR16: 16 items 0-3 scored by nine domains: sleep max(1-4), appetite/weight max(6-9), psychomotor "
         "max(15-16), other domains single items; total = sum of domains (0-27); bands 0-5 none, 6-10 mild, 11-15 "
         "moderate, 16-20 severe, 21-27 very severe. Form rule: answer either 6 or 7 and either 8 or 9.",
         "clinical.md §4 QIDS-SR16 row; Rush 2003 Biol Psychiatry 54:573; ids-qids.org", "S"),
    Rule("scales.qids_item12", "Rating scales",
         "QIDS-SR16 item 12 (thoughts of death or suicide) above 0 raises an urgent flag: C-SSRS screener first.",
         "Issue 3; analogous to the PHQ-9 item-9 practice rule (clinical.md §4, U)", "U"),
    Rule("scales.madrs", "Rating scales",
         "MADRS: 10 clinician-rated items 0-6, total 0-60; Snaith bands 0-6 normal, 7-19 mild, 20-34 moderate, >= 35 "
         "severe. Item wording not reproduced.", "clinical.md §4 MADRS row; [seed 6] used MADRS", "C"),
    Rule("scales.cadss", "Rating scales",
         "CADSS 23-item subjective version, items 0-4, total 0-92; higher = more dissociation; rate before dosing, "
         "at peak (~40 min) and before discharge. No bands.", "clinical.md §4 CADSS row; [seed 8]", "S"),
    Rule("scales.cssrs", "Rating scales",
         "C-SSRS screener flow: ask 1 and 2; if 2 yes ask 3, 4, 5, 6; if 2 no go to 6; 6 yes asks 'within past 3 "
         "months?'. HIGH risk = yes to 4 or 5 or behaviour in past 3 months: urgent, safety precautions until a "
         "mental-health professional evaluates.", "clinical.md §4 C-SSRS Screener row (Columbia triage guidelines)", "C"),
    Rule("scales.cssrs_tiers", "Rating scales",
         "C-SSRS low tier = yes to 1 or 2 only; moderate = yes to 3, or lifetime behaviour not in the past 3 months.",
         "clinical.md §4 C-SSRS Screener row (common triage practice)", "S"),
    Rule("scales.madrs_item10", "Rating scales",
         "MADRS item 10 (suicidal thoughts) at 6 ('explicit plans') always opens the suicide-risk task (C-SSRS "
         "screener before any dosing), and at or above the clinic threshold (default 2, the first anchor naming "
         "suicidal thoughts), like PHQ-9 item 9 and QIDS-SR16 item 12. [scales.madrs_item10_opens_task; flag "
         "madrs_item10 in scales.SUICIDALITY_TASK_FLAGS]",
         "MADRS item 10 anchors (Perroud 2009 doi:10.1186/1741-7015-7-60 Table 1, S); threshold by analogy with "
         "the PHQ-9 item-9 practice rule (clinical.md §4, U)", "U", ("scales.madrs_item10_task_at_or_above",)),
    Rule("scales.moaas_sedation", "Rating scales",
         "MOAA/S during or after dosing: any fall from the patient's own pre-dose score is sedation (recorded; REMS "
         "form); 2 or below (responds only to prodding or shaking) is deep sedation with an airway risk, an urgent "
         "alert (scale flag moaas_deep_sedation); 0 is loss of consciousness (moaas_unresponsive). The REMS form's "
         "sedation answer is yes for any rating either rule calls sedation (one rule for both). "
         "[sedation.classify_moaas, sedation.sedation_occurred]",
         "SPR-PI §5.1 and clinical.md §3c (MOAA/S, C); J&J Medical Information (MOAA/S on the ASA continuum, S); "
         "'any fall from pre-dose' per issue 10 (U)", "U", ("sedation.moaas_urgent_at_or_below",)),
    Rule("scales.moaas", "Rating scales",
         "MOAA/S 0-5 (5 responds readily to name ... 0 no response to painful trapezius squeeze); 0 = loss of "
         "consciousness raises an urgent flag. Level wording paraphrased, primary text not in the reference.",
         "Chernik 1990 J Clin Psychopharmacol 10(4):244-251 (U); clinical.md §3c (MOAA/S = 0, C)", "U"),
    Rule("scales.incomplete", "Rating scales",
         "An incomplete form gives no total ('incomplete'); no instrument in the reference has a proration rule. "
         "Safety flags still fire from the answers given.", "clinical.md §4 (no proration rules given); issue 3",
         "U"),
    # ---------------------------------------------------------------- outcomes
    Rule("outcomes.response", "Change over time",
         "Response = fall of at least 50% from baseline on a depression scale (PHQ-9, QIDS-SR16, MADRS).",
         "clinical.md §4 'Response and remission' table (Cochrane CD011612.pub3)", "C",
         ("outcomes.response_percent",)),
    Rule("outcomes.response_other", "Change over time",
         "GAD-7 response uses 50% (no reference); PCL-5 response uses the CAPS-5 >= 30% PTSD definition "
         "(Feder 2021) applied to PCL-5.", "clinical.md §4 table; [seed 12]", "U",
         ("outcomes.gad7_response_percent", "outcomes.pcl5_response_percent")),
    Rule("outcomes.remission_madrs", "Change over time",
         "MADRS remission <= 12 (ketamine/esketamine trials); <= 10 alternative; configurable.",
         "clinical.md §4 MADRS row and table (PMC10769130; Zimmerman 2004)", "C", ("outcomes.madrs_remission_max",)),
    Rule("outcomes.remission_phq9", "Change over time", "PHQ-9 remission < 5 (total <= 4).",
         "clinical.md §4 table (common convention)", "U", ("outcomes.phq9_remission_max",)),
    Rule("outcomes.remission_qids", "Change over time", "QIDS-SR16 remission <= 5 (STAR*D).",
         "clinical.md §4 QIDS-SR16 row", "S", ("outcomes.qids_remission_max",)),
    Rule("outcomes.pcl5_change", "Change over time",
         "PCL-5: fall of 10 points = clinically meaningful, 5 = reliable; remission = below the cut-point.",
         "clinical.md §4 PCL-5 row and table", "S",
         ("outcomes.pcl5_meaningful_change_points", "outcomes.pcl5_reliable_change_points")),
    Rule("outcomes.relapse", "Change over time",
         "Loss of response after induction (booster prompt): latest score at least N above the lowest score since "
         "induction ended. PHQ-9 +5 (issue example), PCL-5 +10 (meaningful change); other scales must be set by the "
         "clinic before use.", "Issue 3; clinical.md §4 PCL-5 row (S); Feder 2021 median time to loss of response "
         "27.5 days [seed 12]", "U",
         ("outcomes.relapse_rise_phq9_points", "outcomes.relapse_rise_pcl5_points",
          "outcomes.relapse_rise_qids_sr16_points", "outcomes.relapse_rise_madrs_points",
          "outcomes.relapse_rise_gad7_points")),
    Rule("outcomes.after_induction_window", "Change over time",
         "Outcomes report: the score after induction is the first finalised score after the last induction session "
         "within N days (7 by default: the clinic's own 24-hour and 7-day after-dosing scores).",
         "No number in clinical.md (clinic choice)", "U", ("outcomes.after_induction_window_days",)),
    Rule("reports.safety_task_acknowledge", "Rating scales",
         "Safety report: a suicidality task not acknowledged within the clinic's expected time is reported late.",
         "clinical.md §4 PHQ-9 row (no time given); clinic setting", "U", ("safety.task_acknowledge_hours",)),
    # ---------------------------------------------------------------- eligibility
    Rule("eligibility.absolute", "Eligibility",
         "Not eligible: aneurysmal vascular disease, arteriovenous malformation, intracerebral haemorrhage, "
         "hypersensitivity, or a BP/ICP rise posing serious risk. For racemic ketamine the vascular items rest on the "
         "Ketalar label (U) and are applied as absolute, the cautious choice.",
         "clinical.md §2 (SPR-PI §4, C; Ketalar PI, U)", "S"),
    Rule("eligibility.relative", "Eligibility",
         "Prescriber review: psychosis or psychotic features, substance use disorder, drug seeking, uncontrolled "
         "hypertension, unstable cardiovascular or cerebrovascular disease, pregnancy, breastfeeding, hepatic "
         "impairment, raised ICP/IOP, hyperthyroidism.",
         "clinical.md §2 (SPR-PI §5.2, §5.3, §8.1, §8.2: C; §5.6, §8.7: S; anaesthesia items: U); seed article "
         "eligibility FAQ", "S"),
    Rule("eligibility.medications", "Eligibility",
         "Precautions: benzodiazepines, other sedatives and opioids (sedation, respiratory depression); stimulants "
         "and MAOIs (BP rise). Precautions send to review unless the clinic turns that off.",
         "clinical.md §2 (REMS Patient Monitoring Form; SPR-PI §7)", "C", ("eligibility.precautions_need_review",)),
    Rule("eligibility.trd", "Eligibility",
         "Treatment resistance for a depressive or bipolar diagnosis: at least N failed adequate trials (adequate "
         "dose for >= W weeks, no or partial response); fewer -> review. Not required for PTSD alone or esketamine "
         "for MDD with suicidal ideation.", "clinical.md §5c (TRD has no code; payers want failed trials, U); "
         "[seed 6], [seed 7] enrolled TRD", "U",
         ("eligibility.adequate_trial_weeks", "eligibility.trd_min_failed_trials")),
    Rule("eligibility.bp", "Eligibility",
         "Baseline BP above 140/90 -> review (weigh short-term rise against benefit); missing baseline BP -> review.",
         "clinical.md §1 'Pre-dose BP guide' row (SPR-PI §2/§5)", "U",
         ("eligibility.bp_review_systolic_mmHg", "eligibility.bp_review_diastolic_mmHg")),
    Rule("eligibility.esketamine", "Eligibility",
         "Esketamine: labelled for adults with TRD or MDD with acute suicidal ideation; no active MDD code -> review; "
         "age under 18 -> NOT eligible (a label floor no setting can lower; the clinic's adult age can only add a "
         "higher review age); 65 and over -> precaution (28 mg start in EU/HK labelling).",
         "clinical.md §3b (C; >= 65 row S); SPR-PI §8.4", "C",
         ("eligibility.min_age_years", "eligibility.older_adult_age_years")),
    Rule("eligibility.age_missing", "Eligibility",
         "A missing age never passes eligibility silently, for any drug: it is missing information (review) until "
         "the date of birth is recorded. [EligibilityDecision.needs_information]",
         "clinical.md §3b (adults, C); the missing-information rule is issue 10's, not the reference's", "U"),
    Rule("eligibility.icd10", "Eligibility",
         "Built-in diagnosis list: every ICD-10-CM code in clinical.md §5c (F31.31, F31.32, F31.81 are U; F41.1 and "
         "T14.91- are S). Indications covered without review: major depression (F32/F33), bipolar depression (F31) "
         "and PTSD (F43.1x); anything else -> review.",
         "clinical.md §5c; §7 evidence: TRD [seed 6], [seed 7]; MDD and bipolar depression [seed 14]; PTSD "
         "[seed 11], [seed 12]", "S"),
    Rule("eligibility.suicidality", "Eligibility",
         "Recorded suicidal ideation or attempt always goes to prescriber review (complete the C-SSRS screener "
         "first); it is not an exclusion: small studies show a rapid fall in suicidal ideation after ketamine (very low-quality evidence).",
         "clinical.md §4 C-SSRS row; §5c R45.851 (C); §7 [seed 15], [seed 16]", "S"),
    # ---------------------------------------------------------------- dosing
    Rule("dosing.iv", "Dosing",
         "IV: 0.5 mg/kg over 40 min standard; 0.1-0.75 mg/kg without override; above 0.75 up to 1.0 mg/kg needs an "
         "override reason; above 1.0 mg/kg never. Infusions of 40-100 min without override; under 2 min never.",
         "clinical.md §1 'Standard dose', 'Dose range studied', 'Range in practice' rows; [seed 6], [seed 7]; "
         "Andrade 2017", "C",
         ("dosing.iv_default_mg_per_kg", "dosing.iv_min_mg_per_kg", "dosing.iv_max_mg_per_kg",
          "dosing.iv_ceiling_mg_per_kg", "dosing.iv_default_minutes", "dosing.iv_min_minutes",
          "dosing.iv_max_minutes", "dosing.iv_hard_min_minutes")),
    Rule("dosing.iv_maths", "Dosing",
         "IV maths: mg = dosing weight x mg/kg (0.1 mg); drug mL = mg / vial mg/mL (0.01 mL); volume = bag + drug "
         "mL; rate = volume / minutes x 60 (0.1 mL/h); rounding half up, shown step by step.",
         "Arithmetic; issue 3", "C", ("dosing.max_concentration_mg_per_mL", "dosing.max_bag_volume_mL")),
    Rule("dosing.im", "Dosing",
         "IM: 0.25-0.5 mg/kg without override (studied); up to 1.0 mg/kg with override (clinic range, U); above "
         "never; mL = mg / vial mg/mL.", "clinical.md §3a (Chilukuri 2014, C; clinic range U)", "U",
         ("dosing.im_min_mg_per_kg", "dosing.im_max_mg_per_kg", "dosing.im_ceiling_mg_per_kg")),
    Rule("dosing.esketamine", "Dosing",
         "Esketamine: 28 mg per device (2 sprays); 56 mg = 2 devices, 84 mg = 3; 5 min between devices; TRD starts "
         "at 56 mg and uses 84 mg only after that start (override otherwise); MDSI 84 mg, may drop to 56; 28 mg "
         "needs override (non-US); never above 84 mg.", "clinical.md §3b TRD, MDSI and Device rows", "C",
         ("dosing.esketamine_first_dose_mg", "dosing.esketamine_max_dose_mg",
          "dosing.esketamine_device_interval_minutes", "dosing.esketamine_allow_28mg")),
    Rule("titration.plan", "Dosing",
         "A titration plan on an order: a ladder of doses (start, steps, ceiling), judged on one outcome scale. No "
         "step above the plan's ceiling; no ceiling above the hard limit (IV/IM hard ceiling; esketamine 84 mg); "
         "esketamine in whole 28 mg devices. Built-in esketamine plans: TRD 56 mg first, then 56 or 84 mg; MDSI "
         "84 mg, reduced to 56 mg for tolerability.", "clinical.md §1 (0.5 mg/kg standard; 1.0 mg/kg highest "
         "studied; up to 0.75 mg/kg in practice) and §3b (TRD and MDSI rows); [seed 7]", "C",
         ("dosing.iv_ceiling_mg_per_kg", "dosing.im_ceiling_mg_per_kg", "dosing.esketamine_max_dose_mg")),
    Rule("titration.step_down", "Dosing",
         "Before each session the next dose is proposed. One step down when the last session was not tolerated: a "
         "vital sign at the clinic's HOLD or STOP limit, a BP rise of +40 systolic / +25 diastolic mmHg from the "
         "pre-dose reading, MOAA/S at deep sedation, vomiting, an adverse event at the clinic's severity, or peak "
         "CADSS at the clinic's cut-off (none by default: none is published). At the lowest step: hold for the "
         "prescriber.", "Clinic practice (issue 21, U); BP threshold clinical.md §3c (SPR-PI §5.6, C)", "U",
         ("titration.step_down_on_bp_rise", "titration.step_down_adverse_severity",
          "titration.step_down_cadss_at_or_above", "vitals.systolic_rise_mmHg", "vitals.diastolic_rise_mmHg",
          "sedation.moaas_urgent_at_or_below")),
    Rule("titration.step_up", "Dosing",
         "One step up when the patient has had the clinic's number of sessions at the current dose, the last "
         "was tolerated, and a score on the plan's scale taken since the dose last changed shows no response "
         "(less than a 50% fall from baseline); otherwise the dose stays. Dissociation is shown with the "
         "response, never a reason to step up: more dissociation went with a stronger response [seed 8].",
         "Clinic practice (issue 21, U); response definition clinical.md §4 (Cochrane CD011612.pub3, C)", "U",
         ("titration.sessions_before_step_up", "outcomes.response_percent")),
    Rule("titration.choice", "Dosing",
         "A proposal takes effect only when a prescriber signs it, before the dose is prepared. A dose other than "
         "the proposal (a step up without its criteria, any other step) needs the prescriber's reason; a dose off "
         "the plan's ladder or above its ceiling cannot be signed; no proposal while the previous session is "
         "unsigned.", "Clinic practice (issue 21); two-person check of the signed dose, clinical.md §1", "U"),
    Rule("dosing.weight_basis", "Dosing",
         "Actual body weight by default. Optional adjusted weight when BMI > 30: IBW (Devine) + 0.4 x (actual - "
         "IBW); the formula is standard pharmacy practice, NOT in the reference.",
         "clinical.md §1 'Weight basis' row (SAN17, U); formula unconfirmed", "U",
         ("dosing.weight_basis", "dosing.obesity_bmi", "dosing.adjusted_weight_factor")),
    Rule("dosing.weight_checks", "Dosing",
         "A weight about 2.2046 x the previous one (pounds typed as kg; 154 'kg' after 70 kg), or changed by more "
         "than 10% since the previous weight, STOPS dose preparation until the patient is re-weighed or a second "
         "clinician confirms the weight; it is not a warning. With no previous weight, a BMI outside 15-45 stops "
         "it too (no height either: record the height or confirm). Weights outside 30-350 kg are rejected "
         "outright. [dosing.weight_plausibility]",
         "Issues 3 and 10 (no clinical source); 1 kg = 2.2046 lb", "U",
         ("dosing.weight_change_flag_percent", "dosing.lb_as_kg_tolerance_percent", "dosing.min_weight_kg",
          "dosing.max_weight_kg", "dosing.min_bmi", "dosing.max_bmi")),
    Rule("dosing.infused_dose", "Dosing",
         "The dose an IV infusion gave is computed from its events: the pump rate x the time it ran, across pauses "
         "and rate changes, at the bag's concentration (dose mg / infused mL), never more than prepared. A stop "
         "before the prepared volume has run is early: the nurse says why, and the note shows it next to the "
         "ordered dose. [dosing.infused_dose]", "Arithmetic on the recorded pump events; issue 11 point 4", "C"),
    Rule("dosing.infusion_rate", "Dosing",
         "A dose running at 0.5 mg/kg/min or faster (the ketamine label's anaesthetic induction rate; 1.0 mg/kg over "
         "2 min is exactly that) cannot be given, with or without an override: a hard limit, not a setting. Faster "
         "than the clinic's maximum rate (default 0.75 mg/kg over 40 min = 0.01875 mg/kg/min) needs a prescriber's "
         "override. The same limits apply to a pump rate set or changed during the infusion. "
         "[dosing.infusion_rate_check, dosing.pump_rate_check; applied inside dosing.iv_infusion]",
         "Ketalar PI Dosage and Administration (induction 1-2 mg/kg at 0.5 mg/kg/min; label as quoted by secondary "
         "summaries; not in clinical.md)", "S", ("dosing.iv_max_rate_mg_per_kg_per_min",)),
    Rule("dosing.dilution", "Dosing",
         "Ketamine 100 mg/mL is never given IV undiluted: it is diluted with at least an equal volume of sterile "
         "water, 0.9% sodium chloride or 5% dextrose (final strength at most 50 mg/mL) and used at once. "
         "[dosing.iv_dilution_check; applied inside dosing.iv_infusion]",
         "Never undiluted: Ketalar PI §2.1 (rev. 10/2024, DailyMed set 46dab560-8ecd-4d92-8c92-6baa2310b09b; C). "
         "At least an equal volume, so at most 50 mg/mL: PI §2.3 read only as quoted by a secondary source "
         "(inpharmd.com; S). Not in clinical.md", "S"),
    Rule("dosing.stock", "Dosing",
         "The strength in a dose calculation is one the clinic stocks (ketamine is made at 10, 50 and 100 mg/mL; "
         "esketamine at 28 mg per device), so a typo such as 5 for 50 mg/mL cannot give a tenfold volume. "
         "[products.stocked_strength_check; stocked_concentrations= in dosing.iv_infusion / im_injection]",
         "Ketalar PI How Supplied (10, 50, 100 mg/mL; as quoted, S); clinical.md §5b (100 mg/mL, C); §3b (28 mg "
         "device, C)", "S"),
    Rule("dosing.measured_dose", "Dosing",
         "The dose recorded is the dose measured: the volume rounded to what a syringe measures (0.01 mL, half up) "
         "times the vial strength, so the record and the syringe agree; it is never more than half a syringe step "
         "away from the order. A dose whose volume rounds to 0 mL at this strength is refused (use a weaker vial). "
         "[dosing.measured_dose, used by dosing.iv_infusion and dosing.im_injection; DoseCalculation.measured_mg]",
         "Arithmetic; issue 10", "C"),
    # ---------------------------------------------------------------- vitals
    Rule("vitals.pre_dose", _V,
         "Before dosing: BP above 140/90 -> HOLD for prescriber review (label guide: weigh risk of a short-term rise "
         "against benefit); above the stop limits -> STOP.", "clinical.md §1 'Pre-dose BP guide' row (SPR-PI §2/§5)",
         "U", ("vitals.pre_dose_systolic_hold_mmHg", "vitals.pre_dose_diastolic_hold_mmHg")),
    Rule("vitals.bp_limits", _V,
         "During/recovery BP: caution above 140/90; HOLD (pause, recheck) above 180/110; STOP above 200/120 once, or "
         "above 180/110 on two readings 5 min apart. No authoritative threshold exists: these are defaults.",
         "clinical.md §1 'Thresholds' row (Del Sant 2020; one clinic protocol, weak; Yip 2022 "
         "doi:10.3389/fpsyt.2022.1017504)", "S",
         ("vitals.systolic_caution_mmHg", "vitals.systolic_hold_mmHg", "vitals.systolic_stop_mmHg",
          "vitals.diastolic_caution_mmHg", "vitals.diastolic_hold_mmHg", "vitals.diastolic_stop_mmHg",
          "vitals.bp_repeat_minutes", "vitals.systolic_low_hold_mmHg")),
    Rule("vitals.baseline_rise", _V,
         "A rise from the patient's baseline of systolic >= +40 or diastolic >= +25 mmHg is flagged (caution by "
         "default). The label reports these rises for esketamine (8-19% of patients, peak ~40 min, lasting ~4 h).",
         "clinical.md §3c 'BP effect size' row (SPR-PI §5.6)", "C",
         ("vitals.systolic_rise_mmHg", "vitals.diastolic_rise_mmHg", "vitals.baseline_rise_level")),
    Rule("vitals.heart_rate", _V,
         "Heart rate: HOLD above 120 bpm, STOP when above 120 for 5 min (one clinic protocol); caution above 100, "
         "stop above 140, and low limits 50/45/40 are unsourced defaults.",
         "clinical.md §1 'Thresholds' row (weak, S); other numbers not in the reference", "U",
         ("vitals.heart_rate_high_caution_bpm", "vitals.heart_rate_high_hold_bpm", "vitals.heart_rate_high_stop_bpm",
          "vitals.heart_rate_sustained_minutes", "vitals.heart_rate_low_caution_bpm",
          "vitals.heart_rate_low_hold_bpm", "vitals.heart_rate_low_stop_bpm")),
    Rule("vitals.spo2_resp", _V,
         "SpO2 (caution < 95, hold < 92, stop < 90 %) and respiratory rate (low 10/8/6, high 20/24/30 per min): the "
         "reference requires pulse oximetry and respiratory monitoring but gives NO limits; all unconfirmed defaults.",
         "clinical.md §1 'Vitals: what' row (S), §3c 'Respiratory' row (C, monitoring only)", "U",
         ("vitals.spo2_low_caution_percent", "vitals.spo2_low_hold_percent", "vitals.spo2_low_stop_percent",
          "vitals.respiratory_rate_low_caution_per_min", "vitals.respiratory_rate_low_hold_per_min",
          "vitals.respiratory_rate_low_stop_per_min", "vitals.respiratory_rate_high_caution_per_min",
          "vitals.respiratory_rate_high_hold_per_min", "vitals.respiratory_rate_high_stop_per_min")),
    Rule("vitals.when", _V,
         "IV: BP every 10 min during the infusion and every 15 min after. Esketamine: BP before dosing and about "
         "40 min after.", "clinical.md §1 'Vitals: when' row (Emory series); §3c 'BP' row (SPR-HCP)", "C",
         ("vitals.iv_interval_during_minutes", "vitals.iv_interval_after_minutes",
          "vitals.esketamine_bp_check_minutes")),
    # ---------------------------------------------------------------- discharge
    Rule("discharge.observation", "Observation and discharge",
         "Minimum observation: esketamine 120 min from the last device (label; cannot be set lower); IV 90 min "
         "after the infusion ends (BP/HR back to baseline within ~90 min); IM 120 min (no source).",
         "clinical.md §3c 'Observation' row (C); §1 'Observation / discharge, IV' row (Szarmach 2020, S)", "U",
         ("observation.esketamine_min_minutes", "observation.iv_min_minutes", "observation.im_min_minutes")),
    Rule("discharge.criteria", "Observation and discharge",
         "Ready only when: observation time met, vitals within limits and near baseline (systolic +/-20, diastolic "
         "+/-10 mmHg, HR +/-20 bpm: unsourced), alert and oriented, steady gait, no active adverse event, escort "
         "present, no-driving (until next day after restful sleep) acknowledged.",
         "clinical.md §1 'Escort / driving' row (SPR-PI §17, C; IV S); tolerances not in the reference", "U",
         ("discharge.systolic_tolerance_mmHg", "discharge.diastolic_tolerance_mmHg",
          "discharge.heart_rate_tolerance_bpm", "discharge.no_driving_ack_required")),
    Rule("discharge.baseline_bp", "Observation and discharge",
         "Recovery BP is judged against the patient's own pre-dose baseline as well as the fixed caution limit "
         "(140/90): above the fixed limit but within the tolerance above baseline (+20 systolic / +10 diastolic) "
         "does not hold discharge back (baseline 150/95, now 155/98: ready); above both is not ready; HOLD and STOP "
         "readings never pass. [discharge.bp_back_to_baseline; inside discharge.discharge_readiness]",
         "clinical.md §1 'Vitals: time course' (BP back to baseline, Szarmach 2020, C); tolerances not in the "
         "reference", "U", ("discharge.systolic_tolerance_mmHg", "discharge.diastolic_tolerance_mmHg")),
    Rule("discharge.clock", "Observation and discharge",
         "Observation time counts from the end of an IV infusion, from an IM injection, and from the LAST esketamine "
         "device. The label says 2 h 'after administration'; counting from the last device is the conservative "
         "reading of that (the project's choice), and it also meets the REMS form's 2 h from the first device. "
         "Without device times, from the later of dose start and end of dosing. The REMS form's own minutes run "
         "from the first device. [discharge.observation_clock_start, discharge.rems_minutes_monitored]",
         "SPR-PI §17, §5.1 ('at least 2 hours after administration', C); clinical.md §3c 'Form fields' (C); §1 "
         "'Vitals: time course' (C); 'after administration' read as 'after the last device' (U)", "U"),
    Rule("discharge.esketamine_label", "Observation and discharge",
         "Esketamine: no override can send a patient home before 2 h since the last device, without an escort, or "
         "without the no-driving acknowledgement. [discharge.esketamine_discharge_limits]",
         "clinical.md §3c 'Observation' (C); §1 'Escort / driving' (SPR-PI §17, C)", "C",
         ("observation.esketamine_min_minutes",)),
    # ---------------------------------------------------------------- schedules
    Rule("schedules.induction", "Schedules",
         "Induction series: 6 sessions, 2 or 3 a week (default 3) on working days, at most that many in any 7 days, "
         "minimum spacing kept, within 4 weeks.", "clinical.md §1 'Induction series' rows; [seed 6], [seed 12]", "C",
         ("schedules.induction_sessions", "schedules.induction_per_week", "schedules.induction_min_spacing_days",
          "schedules.induction_max_weeks")),
    Rule("schedules.esketamine", "Schedules",
         "Esketamine: weeks 1-4 twice weekly (induction), weeks 5-8 weekly, week 9+ every 2 weeks or weekly at the "
         "lowest frequency that keeps response; assess benefit at the end of induction.",
         "clinical.md §3b TRD row", "C", ("schedules.esketamine_maintenance_every_weeks",)),
    Rule("schedules.integration", "Schedules",
         "Integration session suggested 24-72 h after each dosing session.",
         "Issue 3; not in the reference ([seed 18] describes improvement within 24-72 h, not integration timing)",
         "U", ("schedules.integration_start_hours", "schedules.integration_end_hours")),
    # ---------------------------------------------------------------- custody / identifiers
    Rule("custody.records", "Custody",
         "Ketamine (and esketamine) is DEA Schedule III, code 7285. Keep records >= 2 years; full inventory at least "
         "every 2 years (some states yearly); theft or significant loss: written notice within 1 business day and "
         "DEA Form 106 within 45 days; Spravato REMS monitoring form within 7 days.",
         "clinical.md §5b, §6 ('Retention', 'Biennial inventory' S; 'Theft' C), §3c (REMS form, C)", "S",
         ("custody.inventory_interval_months", "custody.record_retention_years", "custody.theft_notice_business_days",
          "custody.dea106_days", "custody.rems_form_days")),
    Rule("custody.session_account", "Custody",
         "A dosing session's drug account balances before its note is signed: something was drawn from counted "
         "stock, the amount given is posted to the ledger, and drawn = given + wasted (witnessed). A dose is "
         "prepared only from a lot the clinic holds. [custody.session_account_problems]",
         "clinical.md §6 'Dispenser record fields' (21 CFR 1304.22(c)(4)-(5), C) and 'Wastage' (C)", "C"),
    Rule("custody.waste", "Custody",
         "Wastage stays in the registrant's custody, recorded and destroyed per DEA and state rules, not on Form 41; "
         "witnessing by 2 licensed staff is state/institutional policy. Opened-vial discard time and routine count "
         "frequency are clinic policy with no reference number.", "clinical.md §6 'Wastage' row (C/U)", "U",
         ("custody.waste_witness_count", "custody.opened_vial_beyond_use_hours", "custody.routine_count_frequency")),
    Rule("session.vitals_interval", _V,
         "Vitals are due every 10 min during an IV infusion and every 15 min after it (Emory series). IM and "
         "esketamine intervals are clinic settings (no number in the reference; default 15 min).",
         "clinical.md §1 'Vitals: when' (C); §3c 'BP' (C, no interval)", "U",
         ("vitals.iv_interval_during_minutes", "vitals.iv_interval_after_minutes", "vitals.im_interval_minutes",
          "vitals.esketamine_interval_minutes")),
    Rule("session.predose_hold", _V,
         "The pre-dose reading that holds the dose is the WORST reading since the last vitals override, at HOLD or "
         "worse; a later normal reading does not erase it, and an override covers only the readings up to it. "
         "[session.predose_hold]", "clinical.md §1 'Software implications' (override to pass a limit); "
         "'Pre-dose BP guide' (U)", "U", ("vitals.pre_dose_systolic_hold_mmHg", "vitals.pre_dose_diastolic_hold_mmHg")),
    Rule("session.predose_acceptable", _V,
         "REMS 'vital signs acceptable before administration' = a pre-dose reading exists, the latest has a BP, and "
         "none was at HOLD or worse (an overridden hold was not acceptable). [session.predose_vitals_acceptable]",
         "clinical.md §3c 'Form fields' (the form asks the question, C); reading 'acceptable' as 'below the pre-dose "
         "HOLD limits' is the project's choice, and those limits are unconfirmed (rules vitals.*, U)", "U"),
    Rule("session.completion_acceptable", _V,
         "REMS 'vital signs acceptable before completion' = the last reading after dosing is within every limit "
         "(level OK). [session.completion_vitals_acceptable]",
         "clinical.md §3c 'Form fields' (the form asks the question, C); reading 'acceptable' as 'within the "
         "clinic's limits' is the project's choice, and those limits are unconfirmed (rules vitals.*, U)", "U"),
    Rule("session.rems_dissociation", "Rating scales",
         "REMS 'dissociation' = any CADSS rating of the session above 0. [session.dissociation_observed]",
         "clinical.md §3c 'Form fields' (the form asks, C); CADSS row (0 = no symptom, S); counting any endorsed "
         "symptom is the project's reading", "U"),
    Rule("session.hold_means_hold", _V,
         "A reading at HOLD during dosing pauses the infusion (the nurse confirms the pump is paused); STOP stops "
         "it. Resuming needs a repeat reading below HOLD taken after the pause, or a prescriber's override; after a "
         "STOP, or once any reading during the pause has reached STOP (even if a later one is normal), only the "
         "prescriber can restart. [session.infusion_pause_required, session.may_resume]",
         "Vital-sign levels (rules vitals.*); clinical.md §1 'Software implications'; issue 10", "U",
         ("vitals.repeat_after_minutes",)),
    Rule("session.chair_alert", _V,
         "A HOLD or STOP reading is shown as what to do, in order (do not start / pause / stop, repeat the reading "
         "after the clinic's interval, call the prescriber), acknowledged by the nurse and seen by a prescriber, "
         "each with name and time; the levels' sources are one click away. [session.chair_alert]",
         "The hold-means-hold rule above; repeat interval: clinical.md §1 'Thresholds' (one protocol, weak)", "U",
         ("vitals.repeat_after_minutes",)),
    Rule("session.safety_task_before_dosing", "Dosing",
         "While the patient has an urgent suicidality task open (a safety answer on PHQ-9 item 9, QIDS-SR16 item 12, "
         "MADRS item 10 or a high-risk C-SSRS, or words of self-harm in a message), the dose does not start: a "
         "clinician completes the suicide-risk workflow and acknowledges the task with what they did. "
         "[session.safety_task_hold]",
         "clinical.md §4 PHQ-9 row (item 9 > 0 triggers a suicide-risk workflow, standard practice, U); C-SSRS "
         "Screener row (high risk: precautions until a mental-health professional evaluates, C)", "U"),
    Rule("session.device_spacing", "Dosing",
         "Esketamine devices: no more than were prepared, and at least 5 min between devices. "
         "[session.next_device]", "clinical.md §3b 'Device' row (C)", "C",
         ("dosing.esketamine_device_interval_minutes",)),
    Rule("session.verification", "Dosing",
         "Independent verification: a second clinician enters weight (within 0.1 kg), dose (within 0.1 mg), vial "
         "strength and bag volume (exactly) themselves; any mismatch stops the dose until both agree. "
         "[session.verification_mismatches]", "Issue 10 point 10 (data matching to the dose maths' rounding step; "
         "no clinical source)", "U"),
    Rule("session.pregnancy_test", "Eligibility",
         "The pre-dose checklist asks for a pregnancy test result for everyone not recorded male at birth "
         "(pregnancy is a contraindication to weigh; the reference gives no testing rule).",
         "clinical.md §2 pregnancy row (SPR-PI §8.1, C); testing rule U", "U"),
    Rule("discharge.escort", "Observation and discharge",
         "Every route: the patient goes home with an escort (or medical transport) whose name and phone are recorded; "
         "no discharge override waives it. A patient who must leave otherwise is transferred to emergency care. "
         "[discharge.discharge_hard_limits]", "clinical.md §1 'Escort / driving' (C label for esketamine; S for "
         "IV/IM, applied to every route by the clinic's product decision, issue 11)", "S"),
    Rule("pk.time_below", "Observation and discharge",
         "The cockpit shows a predicted plasma level (a model estimate, not a measured level) for the session's "
         "doses under every published model for the route, and when the model in use predicts it falls below the "
         "clinic's level. Advice beside the discharge readiness; never a discharge criterion. No source gives a "
         "level for recovery, so the level is a clinic choice. [ketaclinic.clinical.pk time_below, model_spread]",
         "pk-models.md §1.1, §1.3 (models, S/U); issue 14; no level in clinical.md", "U",
         ("pk.iv_model", "pk.ketamine_below_ng_per_mL", "pk.esketamine_below_ng_per_mL")),
    Rule("pk.im_absorption", "Observation and discharge",
         "An IM injection's predicted level is drawn under each racemic IV model with a first-order absorption of "
         "the clinic's bioavailability, its rate solved so that the model peaks at each end of the clinic's Tmax "
         "range; the time below the clinic's level is the latest of those curves. [ketaclinic.clinical.pk "
         "absorption.ka_for_tmax]",
         "pk-models.md §1.4 'IM, adult' row (F 93%, Tmax 5-15 min; Clements 1982 via secondary summaries, U)", "U",
         ("pk.im_bioavailability", "pk.im_tmax_min_low", "pk.im_tmax_min_high")),
    Rule("preparation.esketamine", "Observation and discharge",
         "Before esketamine: no food for 2 h and no liquids for 30 min; nasal corticosteroid or decongestant at least "
         "1 h before. IV/IM ketamine: the clinic's own fasting instructions (no number in the reference). After any "
         "dosing session: someone drives the patient home; no driving or machinery until the next day after sleep.",
         "clinical.md §3b 'Patient preparation' (C); §1 'Escort / driving' (C label / S IV)", "C"),
    Rule("custody.destruction", "Custody",
         "Destruction of expired or unwanted stock is recorded with the DEA Form 41 data and signed by two authorized "
         "employee witnesses; returns go to a reverse distributor.",
         "clinical.md §6 'Destruction of inventory' row (DEA-41, OMB 1117-0007; C/S)", "S"),
    Rule("custody.count_method", "Custody",
         "Inventory counts: an opened Schedule III-V container may be estimated; a sealed container is counted "
         "exactly. Each inventory records its date and whether taken at opening or close of business.",
         "clinical.md §6 'Count method' (21 CFR 1304.11(e), C) and 'Biennial inventory' (S)", "C"),
    Rule("identifiers.dea", "Identifiers",
         "DEA number: 2 letters + 7 digits (optional -suffix); first letter registrant type (A/B/F/G/M/P/R; X retired); "
         "second letter last-name initial or 9; check digit (d1+d3+d5) + 2(d2+d4+d6) mod 10 = d7 (AP5836727 valid). "
         "A valid checksum does not prove registration.", "clinical.md §6 'DEA registration number'", "S"),
    Rule("identifiers.npi", "Identifiers",
         "NPI: 10 digits; Luhn check digit over 80840 + the first 9 digits (1234567893 valid).",
         "CMS NPI check-digit rule (not in clinical.md)", "U"),
)

AREAS = ("Rating scales", "Change over time", "Eligibility", "Dosing", _V, "Observation and discharge", "Schedules",
         "Custody", "Identifiers")


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def render_rulebook(width: int = 110) -> str:
    """The whole rulebook as plain text: rules by area with source and status, every setting with its default
    and confirmation, and the seed-article references the rules rest on."""
    out = [
        "KETACLINIC CLINICAL RULEBOOK",
        "Status: C = confirmed in the source text; S = secondary source only; U = unconfirmed or not in the reference.",
        "Settings marked [UNCONFIRMED] are clinic defaults that a clinician must review before use. Reference: "
        "clinical.md (the project reference, shared/reference/clinical.md); not medical advice.",
    ]
    wrap = textwrap.TextWrapper(width=width, subsequent_indent="      ")
    for area in AREAS:
        out.append("")
        out.append(f"== {area} ==")
        for r in (r for r in RULES if r.area == area):
            out.append(wrap.fill(f"[{r.status}] {r.id}: {r.statement}"))
            out.append(wrap.fill(f"      Source: {r.source}"))
            for key in r.setting_keys:
                s = SETTINGS_BY_KEY[key]
                flag = "confirmed" if s.confirmed else "UNCONFIRMED"
                unit = f" {s.unit}" if s.unit else ""
                out.append(wrap.fill(f"      - {key} = {_fmt(s.default)}{unit} [{flag}]"))
    cited = sorted({n for r in RULES for n in SEED_REFERENCES if f"[seed {n}]" in r.source})
    out.append("")
    out.append("== Seed-article references cited above ==")
    for n in cited:
        out.append(wrap.fill(f"[seed {n}] {SEED_REFERENCES[n]}"))
    unconfirmed = sum(1 for s in SETTINGS if not s.confirmed)
    out.append("")
    out.append(f"{len(RULES)} rules; {len(SETTINGS)} settings, {unconfirmed} of them unconfirmed defaults.")
    return "\n".join(out) + "\n"
