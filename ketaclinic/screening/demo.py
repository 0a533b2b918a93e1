"""Demo consults and signed eligibility assessments (synthetic)."""

from __future__ import annotations

from datetime import timedelta

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.screening import services
from ketaclinic.screening.models import BaselineScale, Consult, EligibilityAssessment, TreatmentTrial

TRIAL_DRUGS = [("sertraline", "200 mg daily"), ("escitalopram", "20 mg daily"), ("bupropion XL", "450 mg daily"),
               ("venlafaxine XR", "225 mg daily"), ("aripiprazole augmentation", "5 mg daily"),
               ("lithium augmentation", "900 mg daily"), ("psychotherapy (CBT)", "16 sessions")]


def _actor(user) -> Actor:
    return Actor.for_user(user)


def seed(ctx) -> None:
    rng = ctx.rng
    nurse, prescriber = _actor(ctx.users["nurse"]), _actor(ctx.users["prescriber"])
    eligible: list[tuple[object, str]] = []
    plan = []
    for i, p in enumerate(ctx.patients[:26]):
        codes = list(p.diagnoses.values_list("code", flat=True))
        mdd = any(c.startswith(("F32", "F33")) for c in codes)
        drug = "esketamine" if mdd and i % 4 == 2 else "ketamine"
        plan.append((p, drug))
    # make sure the three showcase patients exist: IV (0), IM (1), esketamine (2, with an MDD code)
    for idx, (p, drug) in enumerate(plan):
        sign = idx < 21
        flags: list[str] = []
        if idx == 21:
            flags = ["aneurysmal_vascular_disease"]
        elif idx % 7 == 5:
            flags = ["substance_use_disorder"]
        consult = services.start_consult.within(actor=nurse, patient=p, drug=drug)
        if drug == "esketamine" and not any(c.startswith(("F32", "F33")) for c in consult.diagnoses):
            consult.diagnoses = ["F33.2", *consult.diagnoses]
        meds = ["benzodiazepine"] if idx % 6 == 4 else []
        services.update_intake.within(actor=nurse, consult=consult, data={
            "diagnoses": consult.diagnoses, "history_flags": flags, "medication_classes": meds,
            "weight_kg": consult.weight_kg or "", "height_cm": consult.height_cm or "",
            "baseline_systolic_mmHg": str(rng.randint(112, 136)), "baseline_diastolic_mmHg": str(rng.randint(70, 86)),
            "baseline_heart_rate_bpm": str(rng.randint(60, 88)), "baseline_spo2_percent": str(rng.randint(96, 99)),
            "notes": "Synthetic demo consult."})
        if idx < 24:
            for d, dose in rng.sample(TRIAL_DRUGS, rng.randint(2, 3)):
                services.add_trial.within(actor=nurse, consult=consult, drug=d, dose=dose, weeks=rng.choice([6, 8, 10, 12]),
                                   adequate_dose=True, outcome=rng.choice(["no_response", "partial"]))
            services.record_scale.within(actor=nurse, consult=consult, scale="phq9",
                                  answers={f"q{k}": rng.randint(1, 3) for k in range(1, 9)} | {"q9": 0})
        if idx >= 24:
            continue  # consults still in progress
        a = services.assess.within(actor=nurse, consult=consult)
        when = ctx.now - timedelta(days=rng.randint(30, 90))
        if sign:
            if a.has_absolute:
                services.sign_assessment.within(actor=prescriber, assessment=a, decision="decline")
            else:
                reason = "" if a.outcome == "eligible" else \
                    "Reviewed with the patient: benefit outweighs the listed risks; monitoring plan agreed."
                services.sign_assessment.within(actor=prescriber, assessment=a, decision="accept", override_reason=reason)
                eligible.append((p, drug))
        elif a.has_absolute:
            services.sign_assessment.within(actor=prescriber, assessment=a, decision="decline")
        Consult.objects.filter(pk=consult.pk).update(created_at=when, updated_at=when)
        for assessment in EligibilityAssessment.objects.filter(consult=consult):
            times = {"assessed_at": when + timedelta(hours=1)}
            if assessment.signed_at:
                seals.backdate_demo_record(prescriber, assessment, **times, signed_at=when + timedelta(hours=2))
            else:
                EligibilityAssessment.objects.filter(pk=assessment.pk).update(**times)
        TreatmentTrial.objects.filter(consult=consult).update(recorded_at=when)
        BaselineScale.objects.filter(consult=consult).update(recorded_at=when)
    ctx.extra["eligible"] = eligible
