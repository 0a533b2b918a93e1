"""Synthetic score histories for the demo clinic (all made up, and marked synthetic like the patients).

Pattern (issue 5): a baseline at the consult; scores fall within a day or two of each dosing session and fade
back toward baseline over about two weeks without retreatment. Some patients keep boosters going, some stop
and relapse (so booster prompts fire), some barely respond. One patient answers PHQ-9 item 9 with 1, leaving an
open safety task on the Today board. Scores go through the real services, so totals, bands, flags, tasks and
prompts all come from the clinical core.

Runs as the measures app's demo seed (after integration's, before portal's). It lives in the top layer because
it also writes completed treatment series, and measures sits below treatments.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Room
from ketaclinic.measures import services
from ketaclinic.measures.models import MeasureSchedule, Timing
from ketaclinic.measures.schedule import DEFAULT_PLAN, refresh_due_items
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

N_PATIENTS = 24
# the standard IV dose, 0.5 mg/kg over 40 minutes (clinical.md, "Standard dose" row: Singh 2016), on the synthetic orders
STANDARD_MG_PER_KG, STANDARD_MINUTES = Decimal("0.5"), 40
FADE_DAYS = 9.0  # e-folding time of a session's benefit in this synthetic model (relief fades over ~2 weeks)


def spread_answers(total: int, n_items: int, top: int, rng, last_item_zero: bool = False) -> dict[str, int]:
    """Spread ``total`` over the items at random (each 0..top)."""
    values = [0] * n_items
    slots = n_items - 1 if last_item_zero else n_items
    total = max(0, min(total, slots * top))
    while total > 0:
        i = rng.randrange(slots)
        if values[i] < top:
            values[i] += 1
            total -= 1
    return {f"q{i}": v for i, v in enumerate(values, 1)}


def _series(patient, prescriber, start, n: int, rng, boosters: list) -> list[TreatmentSession]:
    """A synthetic, completed IV induction series (and boosters) for a patient the treatment seed left alone."""
    drug, route = "ketamine", "iv"
    order = TreatmentOrder.objects.create(
        patient=patient, drug=drug, route=route, status=TreatmentOrder.Status.COMPLETED, sessions_planned=n,
        sessions_per_week=2 if drug == "esketamine" else 3, created_by=prescriber, signed_by=prescriber,
        created_at=start - timedelta(days=3), signed_at=start - timedelta(days=3),
        dose_mg_per_kg=STANDARD_MG_PER_KG, infusion_minutes=STANDARD_MINUTES)
    seals.seal_demo_history(Actor.for_user(prescriber), order)
    mg = (Decimal(rng.randrange(28, 45)) if route == "iv" else Decimal(56))
    days = [start + timedelta(days=int(round(i * 7 / order.sessions_per_week))) for i in range(n)] + boosters
    # booked in the clinic's infusion chairs, so the chair-use report counts these weeks too
    chairs = list(Chair.objects.filter(room__clinic=patient.clinic, room__kind=Room.Kind.INFUSION)
                  .select_related("room").order_by("pk"))
    out = []
    for seq, day in enumerate(days, 1):
        chair = chairs[(patient.pk + seq) % len(chairs)] if chairs else None
        at = day.replace(hour=9 + rng.randrange(0, 6), minute=0, second=0, microsecond=0)
        dose = Decimal(84) if route == "intranasal" and seq > 2 else mg
        out.append(TreatmentSession.objects.create(
            patient=patient, order=order, sequence=seq, drug=drug, route=route, scheduled_start=at,
            room=chair.room if chair else None, chair=chair,
            status=TreatmentSession.Status.DISCHARGED, dose_started_at=at + timedelta(minutes=25),
            dose_mg_per_kg=STANDARD_MG_PER_KG, infusion_minutes=STANDARD_MINUTES,
            weight_kg=mg / STANDARD_MG_PER_KG,  # the weight the standard dose was worked out from
            dose_ended_at=at + timedelta(minutes=65), administered_mg=dose,
            discharged_at=at + timedelta(minutes=160 if route == "intranasal" else 130)))
    return out


def seed(ctx) -> None:
    rng, now, actor = ctx.rng, ctx.now, ctx.actor
    nurse, prescriber = ctx.users["nurse"], ctx.users["prescriber"]
    staff_actor = Actor(user=nurse, roles=frozenset({"nurse"}))
    services.set_on_call.within(actor=actor, day=now.astimezone(ctx.clinic.tz).date(), clinician=prescriber)
    with_order = set(TreatmentOrder.objects.filter(patient__in=ctx.patients).values_list("patient_id", flat=True))
    # Patients in the treatment seed's (recent) series, then others given a longer, completed IV history here.
    treated = [p for p in ctx.patients if p.pk in with_order]
    untreated = [p for p in ctx.patients if p.pk not in with_order][:N_PATIENTS - min(len(treated), 8)]
    kinds = ["maintained", "fading", "maintained", "partial", "maintained", "fading", "maintained", "fading"]
    plan = [(p, "in-series") for p in treated] + [(p, kinds[i % len(kinds)]) for i, p in enumerate(untreated)]
    safety_patient = None  # the first patient in a current series answers item 9 with 1 at their last score
    histories, long_histories, upcoming = [], [], []
    for patient, kind in plan:
        sessions = list(TreatmentSession.objects.filter(patient=patient, dose_ended_at__isnull=False)
                        .order_by("dose_ended_at"))
        if kind != "in-series":
            # Completed IV series only (no REMS or custody records implied: synthetic history, undispensed here).
            start = now - timedelta(days=rng.randrange(70, 200))
            boosters = []
            if kind == "maintained":
                day = start + timedelta(days=14)
                while day < now - timedelta(days=2):
                    boosters.append(day)
                    day += timedelta(days=rng.randrange(10, 15))
            sessions = _series(patient, prescriber, start, 6, rng, boosters)
            long_histories.append(patient)
        elif TreatmentSession.objects.filter(patient=patient, status=TreatmentSession.Status.BOOKED,
                                             scheduled_start__gt=now).exists():
            upcoming.append(patient)
        if not sessions:
            # Series booked but not started: a baseline at the consult only.
            consult = now - timedelta(days=rng.randrange(3, 10))
            services.record_administration.within(actor=staff_actor, patient=patient, scale="phq9",
                                           answers=spread_answers(rng.randrange(14, 24), 9, 3, rng, True),
                                           administered_at=consult, timing=Timing.BASELINE)
            histories.append(patient)
            continue
        if safety_patient is None and kind == "in-series":
            safety_patient = patient
        baseline = rng.randrange(15, 25)
        gain = {"maintained": 0.75, "fading": 0.7, "partial": 0.15, "in-series": 0.6}[kind] * rng.uniform(0.85, 1.1)
        fade = FADE_DAYS * (2.5 if kind == "maintained" else 1.0)  # sustained responders hold on longer
        durable = 0.8 if kind == "maintained" else 0.0  # boosters keep the response going
        first = sessions[0].dose_started_at
        consult = first - timedelta(days=rng.randrange(5, 12), hours=rng.randrange(0, 5))
        dose_times = [s.dose_ended_at for s in sessions]

        def phq(at, _dose_times=dose_times, _baseline=baseline, _gain=gain, _fade=fade, _durable=durable):
            effect = 0.0
            for k, t in enumerate([d for d in _dose_times if d <= at]):
                days = (at - t).total_seconds() / 86400
                onset = min(1.0, days / 1.0)  # relief within 24-72 h
                effect = max(effect, min(1.0, 0.45 + 0.12 * k) * onset * math.exp(-max(0.0, days - 2) / _fade))
            if sum(1 for d in _dose_times if d <= at) >= 6:
                effect = max(effect, _durable)
            return max(0, min(27, round(_baseline * (1 - _gain * effect) + rng.gauss(0, 0.8))))

        times = [(consult, Timing.BASELINE)]
        for s in sessions:
            times.append((s.scheduled_start - timedelta(hours=1), Timing.PRE_DOSE))
            times.append((s.dose_ended_at + timedelta(hours=rng.randrange(22, 30)), Timing.H24))
        t = sessions[min(5, len(sessions) - 1)].dose_ended_at + timedelta(days=7)  # 7 days after induction
        times.append((t, Timing.D7))
        stop = now - timedelta(days=rng.randrange(9, 16)) if rng.random() < 0.2 else now - timedelta(hours=6)
        while t + timedelta(days=7) < stop:
            t += timedelta(days=7, hours=rng.randrange(-10, 10))
            times.append((t, Timing.WEEKLY))
        times = sorted((at, timing) for at, timing in times if at < now)
        for at, timing in times:
            total = phq(at)
            answers = spread_answers(total, 9, 3, rng, last_item_zero=True)
            if patient is safety_patient and at == times[-1][0]:
                answers["q9"] = 1
            source = "portal" if timing in (Timing.WEEKLY, Timing.H24, Timing.D7) and rng.random() < 0.7 else "staff"
            services.record_administration.within(actor=staff_actor, patient=patient, scale="phq9", answers=answers,
                                           administered_at=at, timing=timing, source=source)
            if timing in (Timing.BASELINE, Timing.D7, Timing.WEEKLY) and (timing != Timing.WEEKLY or rng.random() < 0.5):
                gad = max(0, min(21, round(phq(at) * 0.7 + rng.gauss(0, 1.5))))
                services.record_administration.within(actor=staff_actor, patient=patient, scale="gad7",
                                               answers=spread_answers(gad, 7, 3, rng), administered_at=at, timing=timing,
                                               source=source)
        for scale, plan in DEFAULT_PLAN.items():
            MeasureSchedule.objects.get_or_create(patient=patient, scale=scale,
                                                  defaults={**plan, "started_at": consult, "updated_by": nurse})
        refresh_due_items(patient, now)
        histories.append(patient)
    ctx.extra["measures_patients"] = [p.pk for p in histories]
    ctx.extra["measures_portal_patients"] = [p.pk for p in (long_histories[:1] + upcoming[:1] + long_histories[1:2])]
    ctx.extra["measures_safety_patient"] = safety_patient.pk if safety_patient else None
