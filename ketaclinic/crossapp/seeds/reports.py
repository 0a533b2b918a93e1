"""Synthetic history for the demo clinic's reports (all made up; every patient is a synthetic demo patient).

The earlier seeds give the demo recent series and PHQ-9 histories; the reports need more of a clinic's past to
show believable figures in every section. Over the past six months this seed adds:

- a cohort of synthetic patients, one treatment course each: IV, IM and esketamine inductions (the label's
  56 mg then 84 mg), for unipolar and bipolar depression, PTSD (followed on PCL-5) and generalized anxiety
  (GAD-7), their diagnoses added through the registry's service. Some respond and keep the response with
  boosters, some respond and lose it one to three weeks after induction (the seed article: relief fades within
  about two weeks without retreatment), some barely respond; a few answer PHQ-9 item 9 above 0 at baseline and 0
  afterwards, and the clinician acknowledges each safety task;
- PCL-5 alongside the PHQ-9 history of the earlier seeds' PTSD patients (so their outcomes can be counted);
- at the chair: adverse events of several kinds and severities, vital signs at HOLD (before dosing, during an
  infusion, in recovery) and one at STOP (the infusion stopped, the patient transferred to emergency care), pauses,
  one discharge against the readiness check with the prescriber's reason, no-shows and cancellations, Spravato
  REMS forms (one submitted late) and integration sessions attended, declined and cancelled;
- past consults and follow-ups on the calendar, a few of them missed or cancelled.

Like the other seeds' history, completed sessions are written directly and sealed as the demo's synthetic history
(``seals.seal_demo_history``); every vital-sign level is the clinical core's classification of the values written
(``clinical.vitals``); scores go through ``measures.services.record_administration``, so totals, bands, safety
flags and tasks come from the core. The rates of adverse events and excursions are synthetic, chosen to look like
a small clinic's record; they are not clinical figures. No custody draw is implied: the history is undispensed,
as the earlier seeds' history is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.demo_data import synthetic_person
from ketaclinic.clinic.hours import first_bookable
from ketaclinic.clinic.models import Chair, Room
from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.clinical.vitals import VitalReading, classify_reading
from ketaclinic.integration import services as integration
from ketaclinic.integration.models import IntegrationSession, TherapistNote
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration, Timing
from ketaclinic.patients.models import BodyMeasurement, Diagnosis, Patient
from ketaclinic.patients.services import add_diagnosis, register_patient
from ketaclinic.scheduling import services as scheduling
from ketaclinic.scheduling.models import Appointment, AppointmentChange
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.demo import DEMO_LOTS, SUMMARIES
from ketaclinic.treatments.models import (
    AdverseEvent,
    ConsentDocument,
    ConsentSignature,
    RemsForm,
    SessionEvent,
    SessionRating,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)

S = TreatmentSession.Status
#: the standard IV and IM dose on the synthetic orders: 0.5 mg/kg (IV over 40 min: clinical.md "Standard dose" row,
#: Singh 2016); esketamine on the label's plan, 56 mg at the first session, then 84 mg.
MG_PER_KG, IV_MINUTES = Decimal("0.5"), 40
ESK_FIRST, ESK_LATER = Decimal(56), Decimal(84)


@dataclass(frozen=True)
class Course:
    codes: tuple[str, ...]  # ICD-10-CM codes added to the chart
    route: str  # "iv", "im", "intranasal"
    kind: str  # "keeps" (responds, boosters keep it), "fades" (responds, loses it), "partial", "transfer"
    lose_day: int = 0  # "fades": days after the end of induction at which response is lost
    item9: int = 0  # PHQ-9 item 9 at baseline (0 after induction)


#: The cohort (synthetic). Every diagnosis group has a responder; PTSD and bipolar include a non-IV responder.
COHORT = (
    Course(("F33.1",), "iv", "keeps"),
    Course(("F32.2",), "iv", "fades", lose_day=10, item9=1),
    Course(("F31.81",), "iv", "fades", lose_day=17),
    Course(("F31.4",), "im", "keeps"),
    Course(("F43.12",), "iv", "fades", lose_day=20),
    Course(("F43.10",), "im", "keeps"),
    Course(("F41.1",), "iv", "fades", lose_day=12),
    Course(("F41.1",), "im", "partial"),
    Course(("F33.2",), "intranasal", "keeps", item9=2),
    Course(("F33.1", "F41.1"), "intranasal", "partial"),
    Course(("F33.2",), "im", "fades", lose_day=6, item9=1),
    Course(("F31.81",), "iv", "partial"),
    Course(("F43.12",), "iv", "partial"),
    Course(("F33.1",), "iv", "transfer"),
    Course(("F32.2",), "intranasal", "fades", lose_day=13),
)
#: Special moments at the chair, by (cohort index, session sequence).
PREDOSE_HOLD = {(8, 3)}  # BP above the label's pre-dose guide, repeated after rest and then within it
DURING_HOLD = {(2, 2), (6, 5)}  # BP above the hold limit during the infusion: paused automatically, rechecked
RECOVERY_HOLD = {(3, 2)}  # SpO2 below the hold limit in recovery (IM)
MANUAL_PAUSE = {(0, 4)}  # the nurse pauses for nausea
OVERRIDE = {(11, 5)}  # discharged by the prescriber against the readiness check, with the reason
NO_SHOW = {(1, 2), (10, 3)}  # these bookings were missed (the series went on)
CANCELLED = {(6, 4)}  # cancelled by the patient (unwell)
LATE_REMS = {(14, 2)}  # the REMS form sent three days after it was due
TRANSFER_AT = 3  # the "transfer" course: the third session ends in a transfer to emergency care
#: (kind, severity, action taken, minutes after the dose started), drawn at the synthetic rates below
AE_CHOICES = (
    (0.12, "nausea", "mild", "Reassurance, cool cloth", 25),
    (0.03, "vomiting", "moderate", "Emesis bag, positioned on side; settled", 35),
    (0.05, "headache", "mild", "Dim lights, water after recovery", 50),
    (0.05, "dizziness", "mild", "Stayed seated; walked with the nurse before discharge", 70),
    (0.04, "anxiety", "mild", "Verbal reassurance, grounding", 10),
    (0.02, "emergence", "moderate", "Calm voice, eyes open, music off; settled in 15 min", 30),
    (0.02, "agitation", "mild", "Reassurance; settled", 20),
)
PHQ_ITEMS, GAD_ITEMS, PCL_ITEMS = 9, 7, 20


def _actor(user) -> Actor:
    return Actor.for_user(user)


def _answers(total: int, n_items: int, top: int, rng, fixed: dict[str, int] | None = None) -> dict[str, int]:
    """``total`` spread at random over the items (each 0..top); ``fixed`` items keep their value."""
    fixed = fixed or {}
    values = {f"q{i}": 0 for i in range(1, n_items + 1)} | fixed
    free = [k for k in values if k not in fixed]
    left = max(0, min(total - sum(fixed.values()), len(free) * top))
    while left > 0:
        k = free[rng.randrange(len(free))]
        if values[k] < top:
            values[k] += 1
            left -= 1
    return values


# ----------------------------------------------------------------------------------------------- the chair
class Chairside:
    """Writes one completed session's own records: vitals (each classified by the core), events, ratings, adverse
    events; then the session is sealed with them."""

    def __init__(self, ctx):
        self.ctx, self.rng = ctx, ctx.rng
        self.limits = ctx.clinic.limits()
        self.nurse, self.nurse2, self.prescriber = ctx.users["nurse"], ctx.users["nurse2"], ctx.users["prescriber"]

    def reading(self, s, at, phase, sys_, dia, hr=None, spo2=None, rr=None, baseline=None) -> VitalsReading:
        rng = self.rng
        r = VitalReading(sys_, dia, hr or rng.randint(64, 90), spo2 or rng.randint(95, 99), rr or rng.randint(12, 18))
        a = classify_reading(r, phase=phase, baseline=baseline, settings=self.limits)
        return VitalsReading.objects.create(
            session=s, taken_at=at, phase=phase, systolic_mmHg=r.systolic_mmHg, diastolic_mmHg=r.diastolic_mmHg,
            heart_rate_bpm=r.heart_rate_bpm, spo2_percent=r.spo2_percent,
            respiratory_rate_per_min=r.respiratory_rate_per_min, level=int(a.level), recorded_by=self.nurse,
            recorded_at=at, findings=[{"vital": f.vital, "level": int(f.level), "message": f.message,
                                       "source": f.source} for f in a.findings])


def _session(cs: Chairside, order, seq: int, start: datetime, chair, *, key: tuple[int, int], consent,
             mg: Decimal, weight: Decimal, transfer: bool = False) -> TreatmentSession:
    rng, nurse, nurse2, prescriber = cs.rng, cs.nurse, cs.nurse2, cs.prescriber
    p = order.patient
    route = order.route
    pause = 7 if key in DURING_HOLD else (5 if key in MANUAL_PAUSE else 0)
    predose_extra = 10 if key in PREDOSE_HOLD else 0
    dose_start = start + timedelta(minutes=30 + predose_extra)
    run = {"iv": IV_MINUTES + pause, "im": 0, "intranasal": 10}[route]
    dose_end = dose_start + timedelta(minutes=run)
    if transfer:
        dose_end = dose_start + timedelta(minutes=21)
    discharged = (dose_start + timedelta(minutes=125) if route == "intranasal"
                  else dose_end + timedelta(minutes={"iv": 95, "im": 125}[route]))
    if key in RECOVERY_HOLD or key in OVERRIDE:
        discharged += timedelta(minutes=15)
    end_at = dose_start + timedelta(minutes=35) if transfer else discharged
    dose = {"prepared_dose_mg": mg, "lot_number": DEMO_LOTS[order.drug]}
    if route == "intranasal":
        dose |= {"devices": int(mg) // 28, "vial_or_device": "Spravato 28 mg nasal device"}
    else:
        volume = (mg / Decimal(50)).quantize(Decimal("0.01"))
        dose |= {"weight_kg": weight, "dose_mg_per_kg": MG_PER_KG, "concentration_mg_per_mL": Decimal(50),
                 "prepared_volume_mL": volume, "vial_or_device": "Ketamine HCl 50 mg/mL, 10 mL vial"}
        if route == "iv":
            dose |= {"bag_volume_mL": Decimal(100), "infusion_minutes": IV_MINUTES,
                     "rate_mL_per_h": ((Decimal(100) + volume) * 60 / IV_MINUTES).quantize(Decimal("0.1"))}
    given = (mg * Decimal(20) / Decimal(IV_MINUTES)).quantize(Decimal("0.1")) if transfer else mg
    ready = key not in OVERRIDE
    s = TreatmentSession.objects.create(
        patient=p, order=order, sequence=seq, drug=order.drug, route=route, room=chair.room, chair=chair,
        scheduled_start=start, scheduled_minutes=treatments.default_minutes(order, cs.limits),
        status=S.TRANSFERRED if transfer else S.DISCHARGED, booked_by=cs.ctx.users["frontdesk"], checked_in_at=start,
        identity_confirmed=True, fasting_confirmed=True, consent=consent, no_driving_acknowledged=True,
        pregnancy_test="negative" if p.sex_at_birth != "male" else "", escort_name=p.escort_name,
        escort_phone=p.escort_phone, music=rng.choice(["Instrumental playlist", "Guided meditation", "Nature sounds"]),
        lighting=rng.choice(["Dimmed", "Dark, eye mask"]), prepared_by=nurse, prepared_at=start + timedelta(minutes=15),
        verified_by=nurse2, verified_at=start + timedelta(minutes=20), verified_dose_mg=mg,
        verified_weight_kg=weight if route != "intranasal" else None, dose_started_at=dose_start,
        dose_ended_at=dose_end, administered_mg=given, administered_by=nurse,
        discharged_at=None if transfer else discharged, discharged_by=None if transfer else (
            nurse if ready else prescriber),
        transferred_at=end_at if transfer else None,
        transfer_note="Synthetic: ambulance to the emergency department, nurse's handover given" if transfer else "",
        alert_and_oriented=True, steady_gait=ready, created_at=start - timedelta(days=3),
        discharge_check={} if transfer else {"ready": ready, "missing": [] if ready else ["Walking not yet steady"],
                                              "at": discharged.isoformat()},
        discharge_override_reason="" if ready else (
            "Synthetic: gait unsteady from a long-standing knee injury (as at arrival); alert and oriented, vital "
            "signs at baseline, escort present and walking with the patient."),
        note_summary=("Synthetic: infusion stopped for BP at the stop limit; transferred to emergency care."
                      if transfer else rng.choice(SUMMARIES)),
        nurse_signed_by=nurse, nurse_signed_at=end_at + timedelta(minutes=10), prescriber_signed_by=prescriber,
        prescriber_signed_at=end_at + timedelta(hours=3), last_vitals_at=end_at - timedelta(minutes=5), **dose)
    base_sys, base_dia = rng.randint(114, 132), rng.randint(70, 84)
    if key in PREDOSE_HOLD:  # above the label's pre-dose guide; after 10 min of rest, within it
        cs.reading(s, start + timedelta(minutes=8), "pre_dose", 148, 94)
        base = cs.reading(s, start + timedelta(minutes=20 + predose_extra), "pre_dose", 136, 86)
    else:
        base = cs.reading(s, start + timedelta(minutes=10), "pre_dose", base_sys, base_dia)
    baseline = VitalReading(base.systolic_mmHg, base.diastolic_mmHg, base.heart_rate_bpm, base.spo2_percent,
                            base.respiratory_rate_per_min)
    bs, bd = base.systolic_mmHg, base.diastolic_mmHg
    events = [("start" if route != "intranasal" else "device", dose_start, "", None)]
    if route == "intranasal":
        events.append(("device", dose_start + timedelta(minutes=5), "", None))
    t, k = dose_start + timedelta(minutes=10), 0
    while t < dose_end and route != "im":
        if key in DURING_HOLD and k == 1:
            hold = cs.reading(s, t, "during", 184, 104, baseline=baseline)
            events.append(("pause", t + timedelta(minutes=1), "Automatic pause: BP at the hold limit", hold))
            cs.reading(s, t + timedelta(minutes=6), "during", 164, 96, baseline=baseline)
            events.append(("resume", t + timedelta(minutes=pause + 1), "Recheck below the hold limit", None))
            AdverseEvent.objects.create(session=s, kind="hypertension", severity="moderate", onset_at=t,
                                        action_taken="Infusion paused, recheck in 5 min, prescriber informed",
                                        resolved_at=t + timedelta(minutes=6), recorded_by=nurse)
            t += timedelta(minutes=pause + 10)
        elif transfer and k == 1:
            stop = cs.reading(s, t, "during", 206, 118, baseline=baseline)
            events.append(("stop", t + timedelta(minutes=1), "Stopped: BP at the stop limit", stop))
            AdverseEvent.objects.create(
                session=s, kind="hypertension", severity="severe", onset_at=t, recorded_by=nurse,
                action_taken="Infusion stopped, prescriber at the chair, emergency services called",
                description="Synthetic: BP 206/118 mmHg 20 min into the infusion; headache")
            cs.reading(s, t + timedelta(minutes=5), "during", 196, 112, baseline=baseline)
            break
        else:
            cs.reading(s, t, "during", bs + [6, 12, 10, 6][k % 4] + rng.randint(-4, 4), bd + 3 + rng.randint(-3, 3),
                       baseline=baseline)
            t += timedelta(minutes=10)
        k += 1
    if key in MANUAL_PAUSE:
        at = dose_start + timedelta(minutes=22)
        events += [("pause", at, "Paused for nausea", None), ("resume", at + timedelta(minutes=5), "", None)]
        AdverseEvent.objects.create(session=s, kind="nausea", severity="moderate", onset_at=at - timedelta(minutes=2),
                                    action_taken="Infusion paused 5 min, cool cloth; settled",
                                    resolved_at=at + timedelta(minutes=15), recorded_by=nurse)
    if route != "im" and not transfer:
        events.append(("stop", dose_end, "", None))
    if not transfer:
        t, k = max(dose_end, dose_start) + timedelta(minutes=15), 0
        while t < discharged:
            if key in RECOVERY_HOLD and k == 1:
                cs.reading(s, t, "recovery", bs + 4, bd + 2, spo2=91, rr=12, baseline=baseline)
                AdverseEvent.objects.create(session=s, kind="desaturation", severity="mild", onset_at=t,
                                            action_taken="Verbal stimulation, deep breaths; SpO2 back to 97% in 3 min",
                                            resolved_at=t + timedelta(minutes=3), recorded_by=nurse)
                cs.reading(s, t + timedelta(minutes=5), "recovery", bs + 2, bd, spo2=97, baseline=baseline)
            else:
                cs.reading(s, t, "recovery", bs + max(0, 8 - 4 * k) + rng.randint(-3, 3), bd + rng.randint(-3, 3),
                           baseline=baseline)
            t += timedelta(minutes=15)
            k += 1
    SessionEvent.objects.bulk_create([SessionEvent(session=s, kind=kind, at=at, note=note, reading=r, by=nurse,
                                                   rate_mL_per_h=s.rate_mL_per_h if kind in ("start", "resume")
                                                   else None) for kind, at, note, r in events])
    ratings = [SessionRating(session=s, scale="moaas", timepoint="peak", answers={"level": 4}, total=4,
                             band="sedated", at=dose_start + timedelta(minutes=min(40, int((end_at - dose_start)
                                                                                            .total_seconds() // 60) - 5)),
                             recorded_by=nurse)]
    if not transfer:
        ratings.append(SessionRating(session=s, scale="moaas", timepoint="pre_discharge", answers={"level": 5},
                                     total=5, band="alert", at=discharged - timedelta(minutes=10), recorded_by=nurse))
    SessionRating.objects.bulk_create(ratings)
    if not transfer and key not in DURING_HOLD | MANUAL_PAUSE | RECOVERY_HOLD:
        roll = rng.random()  # one draw per session against the synthetic rates of AE_CHOICES
        for share, kind, severity, action, minutes in AE_CHOICES:
            if route == "intranasal" and kind == "emergence":
                continue
            if roll < share:
                onset = dose_start + timedelta(minutes=minutes)
                AdverseEvent.objects.create(session=s, kind=kind, severity=severity, onset_at=onset,
                                            action_taken=action, resolved_at=onset + timedelta(minutes=20),
                                            recorded_by=nurse)
                break
            roll -= share
    if route == "intranasal":
        _rems(cs, s, key, dose_start, discharged)
    seals.seal_demo_history(_actor(prescriber), s)
    return s


def _rems(cs: Chairside, s, key, dose_start, discharged) -> None:
    tz = cs.ctx.clinic.tz
    rows = list(s.vitals.order_by("taken_at"))
    pre = [r for r in rows if r.phase == "pre_dose"][-1]
    post = [r for r in rows if r.phase != "pre_dose"]
    at40 = min(post, key=lambda r: abs((r.taken_at - dose_start - timedelta(minutes=40)).total_seconds()))
    minutes = int((discharged - dose_start).total_seconds() // 60)
    due = timezone.localtime(dose_start, tz).date() + timedelta(days=7)
    late = key in LATE_REMS
    sent = (datetime.combine(due + timedelta(days=3), time(11, 0), tzinfo=tz) if late
            else discharged + timedelta(days=2))
    submitted = sent < cs.ctx.now
    RemsForm.objects.create(
        session=s, status="submitted" if submitted else "complete", first_treatment=s.sequence == 1,
        dose_mg=int(s.prepared_dose_mg), lot_number=s.lot_number, devices=s.devices, bp_before=pre.bp,
        bp_40min=at40.bp, bp_before_completion=post[-1].bp, vitals_acceptable_before=True,
        vitals_acceptable_completion=True, sedation=True, dissociation=True, respiratory_depression=False,
        minutes_monitored=minutes, ready_to_leave_minutes=minutes, completed_at=discharged, due_by=due,
        submitted_at=sent if submitted else None, submitted_by=cs.nurse if submitted else None)


def _called_off(cs: Chairside, order, seq, start, chair, status) -> TreatmentSession:
    return TreatmentSession.objects.create(
        patient=order.patient, order=order, sequence=seq, drug=order.drug, route=order.route, room=chair.room,
        chair=chair, scheduled_start=start, scheduled_minutes=treatments.default_minutes(order, cs.limits),
        status=status, booked_by=cs.ctx.users["frontdesk"], created_at=start - timedelta(days=3))


# -------------------------------------------------------------------------------------------- the patients
def _patient(ctx, course: Course, registered: datetime) -> Patient:
    rng = ctx.rng
    data = synthetic_person(rng)
    data["allergies"] = rng.choice(["No known drug allergies", "No known drug allergies", "Penicillin (rash)"])
    data["current_medications"] = rng.choice(["sertraline 100 mg daily", "bupropion XL 300 mg daily",
                                              "lamotrigine 200 mg daily", "none"])
    data["emergency_contact_name"] = f"{rng.choice(['Pat', 'Lee', 'Sam', 'Kim'])} {data['legal_family_name']}"
    data["emergency_contact_phone"] = f"(720) 555-02{rng.randrange(100):02d}"
    data["emergency_contact_relationship"] = rng.choice(["spouse", "partner", "parent", "sibling", "friend"])
    data["escort_name"], data["escort_phone"] = data["emergency_contact_name"], data["emergency_contact_phone"]
    p = register_patient.within(actor=ctx.actor, clinic=ctx.clinic, data=data, confirm_duplicate=True, is_demo=True)
    Patient.objects.filter(pk=p.pk).update(created_at=registered)
    p.created_at = registered
    BodyMeasurement.objects.create(patient=p, measured_at=registered, weight_kg=Decimal(rng.randrange(5600, 10500)) / 100,
                                   height_cm=Decimal(rng.randrange(155, 190)), recorded_by=ctx.users["nurse"])
    for code in course.codes:
        dx = add_diagnosis.within(actor=_actor(ctx.users["prescriber"]), patient=p, code=code,
                                  note="Synthetic demo diagnosis", noted_on=timezone.localtime(registered).date())
        assert dx.status == Diagnosis.Status.ACTIVE
    return p


def _days(start_day, n: int, per_week: int, working) -> list:
    """``n`` working days from ``start_day`` at about ``per_week`` sessions a week."""
    out, day, gaps = [], start_day, {3: (2, 2, 3), 2: (3, 4)}[per_week]
    while len(out) < n:
        while day.weekday() not in working:
            day += timedelta(days=1)
        out.append(day)
        day += timedelta(days=gaps[len(out) % len(gaps)])
    return out


# ------------------------------------------------------------------------------------------------- scores
class Scores:
    """One patient's synthetic score trajectory on their group's scale (and PHQ-9 item 9 for depression)."""

    TOP = {"phq9": (PHQ_ITEMS, 3), "gad7": (GAD_ITEMS, 3), "pcl5": (PCL_ITEMS, 4)}

    def __init__(self, ctx, scale: str, course: Course, limits):
        self.ctx, self.rng, self.scale, self.course = ctx, ctx.rng, scale, course
        self.base = {"phq9": self.rng.randrange(17, 24), "gad7": self.rng.randrange(14, 19),
                     "pcl5": self.rng.randrange(48, 62)}[scale]
        key = {"phq9": "outcomes.response_percent", "gad7": "outcomes.gad7_response_percent",
               "pcl5": "outcomes.pcl5_response_percent"}[scale]
        # response: 100 x after <= (100 - pct) x baseline (clinical.outcomes.assess_change, the clinic's settings)
        self.keep_max = int((100 - float(limits[key])) * self.base // 100)
        self.gain = {"keeps": 0.7, "fades": 0.68, "partial": 0.22, "transfer": 0.3}[course.kind]
        self.actor = Actor(user=ctx.users["nurse"], roles=frozenset({"nurse"}))
        self.tasks = []

    def during(self, k: int, n: int) -> int:
        """After the k-th of n induction sessions."""
        x = self.base * (1 - self.gain * min(1.0, 0.4 + 0.6 * k / n)) + self.rng.gauss(0, 0.8)
        if self.course.kind in ("keeps", "fades") and k == n:
            x = min(x, self.keep_max - 1)
        return max(0, round(x))

    def after(self, days: int) -> int:
        kind = self.course.kind
        if kind in ("keeps",) or (kind == "fades" and days < self.course.lose_day):
            return max(0, min(self.keep_max - 1, round(self.base * (1 - self.gain) + self.rng.gauss(0, 1))))
        if kind == "fades":
            return max(self.keep_max + 2, round(self.base * 0.78 + self.rng.gauss(0, 1)))
        return max(self.keep_max + 1, round(self.base * (1 - self.gain) + self.rng.gauss(0, 1)))

    def record(self, at, timing, total: int, *, baseline: bool = False):
        n, top = self.TOP[self.scale]
        fixed = {}
        if self.scale == "phq9":
            fixed = {"q9": self.course.item9 if baseline else 0}
        source = "portal" if timing in (Timing.WEEKLY, Timing.H24, Timing.D7) and self.rng.random() < 0.6 else "staff"
        out = measures.record_administration.within(
            actor=self.actor, patient=self.patient, scale=self.scale, answers=_answers(total, n, top, self.rng, fixed),
            administered_at=at, timing=timing, source=source)
        self.tasks += [(t, at) for t in out.safety_tasks]


def _acknowledge(ctx, tasks) -> None:
    """The clinician on call acknowledges each safety task (times moved into the synthetic past: minutes to a couple
    of hours after the answer; one acknowledged after the clinic's expected hour)."""
    prescriber = _actor(ctx.users["prescriber"])
    waits = [timedelta(minutes=35), timedelta(hours=2, minutes=10), timedelta(minutes=50), timedelta(minutes=20)]
    for n, (task, at) in enumerate(tasks):
        measures.acknowledge_safety_task.within(
            actor=prescriber, task=task, action="contacted",
            note="Synthetic: called the patient; passive thoughts, no plan or intent; safety plan reviewed.")
        type(task).objects.filter(pk=task.pk).update(created_at=at + timedelta(minutes=2),
                                                     acknowledged_at=at + waits[n % len(waits)])


# ------------------------------------------------------------------------------------------------ the seed
def seed(ctx) -> None:
    rng, now, clinic = ctx.rng, ctx.now, ctx.clinic
    tz, limits = clinic.tz, clinic.limits()
    working = clinic.weekdays() or frozenset(range(5))
    today = timezone.localtime(now, tz).date()
    prescriber = ctx.users["prescriber"]
    cs = Chairside(ctx)
    infusion = list(Chair.objects.filter(room__clinic=clinic, room__kind=Room.Kind.INFUSION).order_by("pk"))
    spravato = list(Chair.objects.filter(room__clinic=clinic, room__kind=Room.Kind.INTRANASAL).order_by("pk"))
    documents = {d.drug: d for d in ConsentDocument.objects.order_by("pk")}
    tasks, dosed_all = [], []
    for i, course in enumerate(COHORT):
        first_day = today - timedelta(days=172 - 9 * i)
        patient = _patient(ctx, course, datetime.combine(first_day - timedelta(days=rng.randrange(18, 40)),
                                                         time(10, 0), tzinfo=tz))
        document = documents.get("esketamine" if course.route == "intranasal" else "ketamine")
        consent = document and ConsentSignature.objects.create(
            patient=patient, document=document, signer_name=patient.legal_name, witnessed_by=ctx.users["nurse"],
            signed_at=datetime.combine(first_day - timedelta(days=6), time(9, 40), tzinfo=tz))
        track = Scores(ctx, _scale_for(course.codes), course, limits)
        track.patient = patient
        weight = treatments.latest_weight(patient)[0] or Decimal("72.0")
        n = {"iv": 6, "im": 6, "intranasal": 8}[course.route]
        per_week = 3 if course.route == "iv" else 2
        signed = datetime.combine(first_day - timedelta(days=7), time(16, 0), tzinfo=tz)
        order = TreatmentOrder.objects.create(
            patient=patient, drug="esketamine" if course.route == "intranasal" else "ketamine", route=course.route,
            status=TreatmentOrder.Status.STOPPED if course.kind == "transfer" else TreatmentOrder.Status.COMPLETED,
            sessions_planned=n, sessions_per_week=per_week, min_spacing_days=2 if per_week == 2 else 1,
            created_by=prescriber, signed_by=prescriber, created_at=signed, signed_at=signed,
            dose_mg_per_kg=None if course.route == "intranasal" else MG_PER_KG,
            fixed_dose_mg=ESK_FIRST if course.route == "intranasal" else None,
            infusion_minutes=IV_MINUTES if course.route == "iv" else None,
            concentration_mg_per_mL=None if course.route == "intranasal" else Decimal(50),
            bag_volume_mL=Decimal(100) if course.route == "iv" else None)
        seals.seal_demo_history(_actor(prescriber), order)
        chairs = spravato if course.route == "intranasal" else infusion
        hour = (8, 9, 10, 11)[i % 4]
        dosed, seq, misses = [], 0, 0
        days = _days(first_day, n + 3, per_week, working)
        for day in days:
            if len(dosed) == n or (course.kind == "transfer" and dosed and dosed[-1].status == S.TRANSFERRED):
                break
            seq += 1
            start = datetime.combine(day, time(hour, 0), tzinfo=tz)
            chair = chairs[(i + seq) % len(chairs)]
            if (i, seq) in NO_SHOW | CANCELLED and misses == 0:
                misses += 1
                _called_off(cs, order, seq, start, chair, S.NO_SHOW if (i, seq) in NO_SHOW else S.CANCELLED)
                continue
            k = len(dosed) + 1
            mg = ((ESK_FIRST if k == 1 else ESK_LATER) if course.route == "intranasal"
                  else (weight * MG_PER_KG).quantize(Decimal("0.1")))
            dosed.append(_session(cs, order, seq, start, chair, key=(i, k), consent=consent, mg=mg, weight=weight,
                                  transfer=course.kind == "transfer" and k == TRANSFER_AT))
        dosed_all += dosed
        # scores: a baseline at the consult, before sessions 3 and 5, 24 h after each, then 7 days and weekly
        first = dosed[0].dose_started_at
        consult = first - timedelta(days=7, hours=rng.randrange(0, 4))
        track.record(consult, Timing.BASELINE, track.base, baseline=True)
        for k, s in enumerate(dosed, 1):
            if k in (3, 5):
                track.record(s.scheduled_start - timedelta(minutes=30), Timing.PRE_DOSE, track.during(k - 1, n) + 1)
            h24 = s.dose_ended_at + timedelta(hours=rng.randrange(20, 28))
            if course.kind == "transfer" and s.status == S.TRANSFERRED:
                break
            if h24 < now:
                track.record(h24, Timing.H24, track.during(k, n))
        end = dosed[-1].dose_ended_at
        if course.kind != "transfer":
            horizon = {"keeps": now - timedelta(days=1),
                       "fades": end + timedelta(days=course.lose_day + 22),
                       "partial": end + timedelta(days=22)}[course.kind]
            d = 7
            while end + timedelta(days=d) < min(horizon, now):
                track.record(end + timedelta(days=d, hours=rng.randrange(-6, 6)),
                             Timing.D7 if d == 7 else Timing.WEEKLY, track.after(d))
                d += 7
        if course.kind == "keeps":
            _boosters(cs, order, end, chairs, i, consent, weight, course, today, working)
        _calendar(ctx, patient, consult, end, i)
        tasks += track.tasks
    _acknowledge(ctx, tasks)
    _integration(ctx, dosed_all)
    _pcl5_for_ptsd(ctx)
    ctx.extra["reports_patients"] = sorted({s.patient_id for s in dosed_all})


def _scale_for(codes) -> str:
    """The scale of the report group of a patient with these codes (the core's rule, clinical.diagnosis_groups)."""
    for group in dg.PRIORITY:
        if any(c.startswith(dg.PREFIXES[group]) for c in codes):
            return dg.SCALE[group]
    return dg.SCALE[dg.OTHER]


def _boosters(cs: Chairside, induction, end, chairs, i, consent, weight, course, today, working) -> None:
    """A booster order after induction: a session every three to four weeks until now."""
    tz, rng = cs.ctx.clinic.tz, cs.rng
    prescriber = cs.prescriber
    day = timezone.localtime(end, tz).date() + timedelta(days=14)
    days = []
    while day < today - timedelta(days=2):
        while day.weekday() not in working:
            day += timedelta(days=1)
        if day >= today:
            break
        days.append(day)
        day += timedelta(days=rng.randrange(21, 29))
    if not days:
        return
    signed = datetime.combine(days[0] - timedelta(days=5), time(16, 30), tzinfo=tz)
    order = TreatmentOrder.objects.create(
        patient=induction.patient, drug=induction.drug, route=induction.route, status=TreatmentOrder.Status.COMPLETED,
        sessions_planned=len(days), sessions_per_week=1, min_spacing_days=7, created_by=prescriber,
        signed_by=prescriber, created_at=signed, signed_at=signed, dose_mg_per_kg=induction.dose_mg_per_kg,
        fixed_dose_mg=ESK_LATER if induction.route == "intranasal" else None,
        infusion_minutes=induction.infusion_minutes, concentration_mg_per_mL=induction.concentration_mg_per_mL,
        bag_volume_mL=induction.bag_volume_mL)
    seals.seal_demo_history(_actor(prescriber), order)
    for seq, day in enumerate(days, 1):
        start = datetime.combine(day, time((9, 10, 11, 12)[(i + seq) % 4], 0), tzinfo=tz)
        mg = ESK_LATER if induction.route == "intranasal" else (weight * MG_PER_KG).quantize(Decimal("0.1"))
        _session(cs, order, seq, start, chairs[(i + seq) % len(chairs)], key=(i, 100 + seq), consent=consent,
                 mg=mg, weight=weight)


def _calendar(ctx, patient, consult, end, i) -> None:
    """The patient's consult (kept) and a follow-up after induction: some missed, some cancelled (synthetic)."""
    clinic, tz = ctx.clinic, ctx.clinic.tz
    desk, prescriber = ctx.users["frontdesk"], ctx.users["prescriber"]
    types = {t.code: t for t in scheduling.types_for(clinic)}
    room = Room.objects.filter(clinic=clinic, kind=Room.Kind.CONSULT).first()
    if room is None or "consult" not in types or "follow_up" not in types:
        return
    chair = room.chairs.filter(active=True).order_by("label").first()
    working = clinic.weekdays() or frozenset(range(5))
    plans = [("consult", consult, "")]
    follow = end + timedelta(days=10)
    fate = ("no_show" if i % 5 == 1 else "cancelled" if i % 5 == 3 else "")
    plans.append(("follow_up", follow, fate))
    if fate == "cancelled":  # rebooked a week later, and kept
        plans.append(("follow_up", follow + timedelta(days=7), ""))
    for code, when, fate in plans:
        day = timezone.localtime(when, tz).date()
        while day.weekday() not in working:
            day += timedelta(days=1)
        start = datetime.combine(day, time((13, 14, 15, 16)[i % 4], 30 if code == "consult" else 0), tzinfo=tz)
        if start >= ctx.now:
            continue
        booked_at = start - timedelta(days=6)
        a = Appointment.objects.create(clinic=clinic, patient=patient, type=types[code], clinician=prescriber,
                                       room=room, chair=chair, start=start, minutes=types[code].minutes,
                                       status={"no_show": "no_show", "cancelled": "cancelled"}.get(fate, "booked"),
                                       note="Synthetic demo booking", booked_by=desk, created_at=booked_at)
        AppointmentChange.objects.create(appointment=a, kind="booked", by=desk, at=booked_at, to_start=start,
                                         details={"clinician": prescriber.username, "room": room.name,
                                                  "chair": chair.label if chair else ""})
        if fate == "no_show":
            AppointmentChange.objects.create(appointment=a, kind="no_show", by=desk, at=start + timedelta(minutes=20),
                                             from_start=start, reason="did_not_attend")
        elif fate == "cancelled":
            AppointmentChange.objects.create(appointment=a, kind="cancelled", by=desk, at=start - timedelta(days=1),
                                             from_start=start, reason="patient_ill",
                                             reason_text="Synthetic: unwell, asked to rebook next week")


NOTES = ("Synthetic note: reflected on the session's imagery; set an intention for the week.",
         "Synthetic note: worked through an unsettling moment at onset; grounding practice agreed.",
         "Synthetic note: talked about sleep and routine; journaling prompt agreed.")


def _integration(ctx, dosed) -> None:
    """Integration offered 24-72 h after most sessions: attended, declined, a couple cancelled (synthetic)."""
    therapist = ctx.users["therapist"]
    room = Room.objects.filter(clinic=ctx.clinic, kind=Room.Kind.THERAPY).first()
    for n, s in enumerate(dosed):
        if s.status != S.DISCHARGED or n % 2:
            continue
        start, end = s.dose_ended_at + timedelta(hours=24), s.dose_ended_at + timedelta(hours=72)
        offer = IntegrationSession(patient=s.patient, dosing_session=s, window_start=start, window_end=end,
                                   created_at=s.discharged_at)
        fate = n % 14
        if end >= ctx.now:
            pass
        elif fate in (4, 10):
            offer.status = IntegrationSession.Status.DECLINED
        elif fate == 6:
            offer.status = IntegrationSession.Status.CANCELLED
        else:
            # attended at 15:00 or the first time after it that the clinic books inside the window (its hours on a
            # working day), else the window's first such time; declined when the clinic books at no time in it
            local = timezone.localtime(start, ctx.clinic.tz)
            afternoon = max(start, datetime.combine(local.date(), time(15, 0), tzinfo=ctx.clinic.tz))
            at = (first_bookable(ctx.clinic, afternoon, end, integration.DEFAULT_MINUTES)
                  or first_bookable(ctx.clinic, start, end, integration.DEFAULT_MINUTES))
            if at is None:
                offer.status = IntegrationSession.Status.DECLINED
            else:
                offer.status = IntegrationSession.Status.COMPLETED
                offer.scheduled_start = at
                offer.therapist, offer.room = therapist, room
        offer.save()
        if offer.status == IntegrationSession.Status.COMPLETED:
            note = TherapistNote.objects.create(session=offer, text=NOTES[n % len(NOTES)], author=therapist,
                                                written_at=offer.scheduled_start + timedelta(minutes=55))
            seals.seal_demo_history(_actor(therapist), note)


def _pcl5_for_ptsd(ctx) -> None:
    """The earlier seeds' PTSD patients were followed on PHQ-9 only: a PCL-5 beside each of their baseline,
    after-dosing and weekly PHQ-9 answers, moving with it (synthetic)."""
    ptsd = [p for p in ctx.patients
            if _scale_for(list(p.diagnoses.exclude(status=Diagnosis.Status.ENTERED_IN_ERROR)
                               .values_list("code", flat=True))) == "pcl5"]
    actor = Actor(user=ctx.users["nurse"], roles=frozenset({"nurse"}))
    rng = ctx.rng
    phq = (Administration.objects.filter(patient__in=ptsd, scale="phq9", total__isnull=False,
                                         timing__in=(Timing.BASELINE, Timing.H24, Timing.D7, Timing.WEEKLY))
           .order_by("patient_id", "administered_at").values_list("patient_id", "administered_at", "timing", "source",
                                                                   "total"))
    by_pk = {p.pk: p for p in ptsd}
    for patient_id, at, timing, source, total in phq:
        pcl = max(0, min(80, round(total * 2.6 + rng.gauss(0, 2))))
        measures.record_administration.within(
            actor=actor, patient=by_pk[patient_id], scale="pcl5", answers=_answers(pcl, PCL_ITEMS, 4, rng),
            administered_at=at + timedelta(minutes=3), timing=timing, source=source)
