"""A titrated IV series for the demo clinic (issue 21), all synthetic: a patient on IV ketamine whose order carries a
titration plan (0.5 → 0.75 mg/kg, response judged on PHQ-9), two signed sessions at 0.5 mg/kg with a weak PHQ-9
response after them, and the next session (on the next working day) for which the prescriber has signed the core's
proposal to step up to 0.75 mg/kg; the nurse prepares it when the patient arrives.

Runs in the top layer after the measures seed, because the proposal reads the patient's PHQ-9 scores. Every state
goes through the services (the two past sessions are built as the treatment seed builds its synthetic history).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.demo_data import synthetic_person
from ketaclinic.clinic.models import Chair, Room
from ketaclinic.crossapp.seeds.measures import spread_answers
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Timing
from ketaclinic.patients.services import record_measurement, register_patient
from ketaclinic.screening import services as screening
from ketaclinic.screening.models import Consult
from ketaclinic.treatments import demo as treatments_demo
from ketaclinic.treatments import services
from ketaclinic.treatments.models import ConsentDocument, ConsentSignature

PLAN = treatments_demo.IV | {"titrate": True, "titration_steps": [Decimal("0.5"), Decimal("0.75")],
                             "titration_scale": "phq9", "notes": "Synthetic demo: titrated series."}


def _eligible(patient, nurse, prescriber, when) -> None:
    """A consult for IV ketamine: recurrent major depression, two adequate trials without response, normal baseline
    vitals; assessed by the core and signed by the prescriber (as the screening seed does it)."""
    consult = screening.start_consult.within(actor=nurse, patient=patient, drug="ketamine")
    weight = services.latest_weight(patient)[0] or Decimal("72.0")
    screening.update_intake.within(actor=nurse, consult=consult, data={
        "diagnoses": ["F33.2"], "history_flags": [], "medication_classes": [], "weight_kg": str(weight),
        "height_cm": "170", "baseline_systolic_mmHg": "122", "baseline_diastolic_mmHg": "78",
        "baseline_heart_rate_bpm": "72", "baseline_spo2_percent": "98", "notes": "Synthetic demo consult."})
    for drug in ("sertraline", "bupropion"):
        screening.add_trial.within(actor=nurse, consult=consult, drug=drug, dose="adequate", weeks="8", adequate_dose=True,
                            outcome="no_response")
    assessment = screening.assess.within(actor=nurse, consult=consult)
    reason = "" if assessment.outcome == "eligible" else "Synthetic demo: benefit outweighs risk after discussion."
    screening.sign_assessment.within(actor=prescriber, assessment=assessment, decision="accept", override_reason=reason)
    Consult.objects.filter(pk=consult.pk).update(created_at=when, updated_at=when)


def seed(ctx) -> None:
    users, clinic, now = ctx.users, ctx.clinic, timezone.now()
    tz = clinic.tz
    prescriber, nurse, desk = (Actor.for_user(users[k]) for k in
                               ("prescriber", "nurse", "frontdesk"))
    data = synthetic_person(ctx.rng)  # a patient of its own, so the series does not depend on the other seeds
    data["escort_name"] = f"Sam {data['legal_family_name']}"
    data["escort_phone"] = "(720) 555-0199"
    patient = register_patient.within(actor=nurse, clinic=clinic, data=data, confirm_duplicate=True, is_demo=True)
    record_measurement.within(actor=nurse, patient=patient, unit="metric", weight=Decimal("74.0"), height=Decimal("172"),
                       measured_at=now - timedelta(days=31))
    _eligible(patient, nurse, prescriber, now - timedelta(days=30))
    order = services.write_order.within(actor=prescriber, patient=patient, data=PLAN)
    signed = now - timedelta(days=20)
    seals.backdate_demo_record(prescriber, order, created_at=signed, signed_at=signed)
    document = ConsentDocument.objects.filter(drug="ketamine").order_by("-effective_from").first()
    ctx.extra.setdefault("consents", {})[patient.pk] = ConsentSignature.objects.create(
        patient=patient, document=document, signer_name=patient.legal_name, signed_at=signed,
        witnessed_by=users["nurse"])
    chairs = list(Chair.objects.filter(room__clinic=clinic, room__kind=Room.Kind.INFUSION, active=True)
                  .select_related("room"))
    working = clinic.weekdays() or frozenset(range(5))
    today = timezone.localtime(now, tz).date()
    days, day = [], today - timedelta(days=9)
    while len(days) < 2:
        if day.weekday() in working:
            days.append(day)
        day += timedelta(days=3)
    baseline_at = datetime.combine(days[0] - timedelta(days=5), time(10, 0), tzinfo=tz)
    measures.record_administration.within(actor=nurse, patient=patient, scale="phq9",
                                   answers=spread_answers(21, 9, 3, ctx.rng, last_item_zero=True),
                                   administered_at=baseline_at, timing=Timing.BASELINE)
    sessions = [treatments_demo.past_session(ctx, order, seq, datetime.combine(d, time(9, 0), tzinfo=tz),
                                             chairs[-1], users) for seq, d in enumerate(days, 1)]
    after = sessions[-1].dose_ended_at + timedelta(hours=24)
    measures.record_administration.within(actor=nurse, patient=patient, scale="phq9",
                                   answers=spread_answers(17, 9, 3, ctx.rng, last_item_zero=True),
                                   administered_at=min(after, now - timedelta(hours=1)), timing=Timing.H24)
    # The next session, on the next working day: booked, and the step up signed ahead of it (the prescriber
    # reviews the proposals before the session day); the nurse prepares 0.75 mg/kg when the patient arrives.
    day = today + timedelta(days=1)
    while day.weekday() not in working:
        day += timedelta(days=1)
    s = None
    for hour in (9, 11, 13, 10, 12):
        for chair in reversed(chairs):
            try:
                s = services.book_session.within(actor=desk, order=order, room=chair.room, chair=chair,
                                                 start=datetime.combine(day, time(hour, 0), tzinfo=tz))
                break
            except services.TreatmentError:
                continue
        if s is not None:
            break
    if s is None:  # pragma: no cover - every infusion chair busy all morning
        raise RuntimeError("no free infusion chair for the titrated demo session")
    shown = services.propose_for(s)
    services.sign_dose.within(actor=prescriber, session=s, dose=shown.proposal.dose)
    ctx.extra["titrated_session"] = s.pk
