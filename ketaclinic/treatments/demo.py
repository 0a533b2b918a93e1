"""Demo orders and sessions (synthetic): signed orders for IV ketamine, IM ketamine and esketamine, past completed
sessions with vitals and signed notes, and today's sessions in every phase across the demo clinic's rooms.

``seed_demo`` loads the whole demo clinic in one transaction (all or nothing), so the use cases run here with
``.within``: inside that transaction rather than each in its own durable one."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.hours import first_bookable, hours_of, outside_hours
from ketaclinic.clinic.models import Chair, Room
from ketaclinic.clinical.vitals import VitalReading, classify_reading
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    AdverseEvent,
    ConsentSignature,
    RemsForm,
    SessionEvent,
    SessionRating,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)

IV = {"drug": "ketamine", "route": "iv", "dose_mg_per_kg": "0.5", "infusion_minutes": "40",
      "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "sessions_planned": "6", "sessions_per_week": "3",
      "min_spacing_days": "1"}
IM = {"drug": "ketamine", "route": "im", "dose_mg_per_kg": "0.5", "concentration_mg_per_mL": "50",
      "sessions_planned": "6", "sessions_per_week": "2", "min_spacing_days": "2"}
ESK = {"drug": "esketamine", "route": "intranasal", "fixed_dose_mg": "56", "sessions_planned": "8",
       "sessions_per_week": "2", "min_spacing_days": "2"}
SUMMARIES = ["Uneventful session; mild dissociation resolved by 60 min.",
             "Transient nausea, settled without medication. Tolerated well.",
             "Calm throughout with guided meditation; BP peaked at 40 min then returned to baseline.",
             "Brief anxiety at onset, reassured; otherwise uneventful."]

#: The least time (minutes since its start) a session of today's board needs to have reached its phase: pre-checks
#: (25 min), a 40-minute infusion and the 90-minute minimum observation before discharge; dosing begun; the patient
#: arrived.
NEEDS_MINUTES = {"discharged": 160, "ready": 160, "dosing": 35, "observation": 35, "checked_in": 2,
                 "pre_checks": -10}



def _actor(user) -> Actor:
    return Actor.for_user(user)


def _vitals(rng, session, at, phase, base_sys, base_dia, rise=0, by=None):
    r = VitalReading(base_sys + rise + rng.randint(-4, 4), base_dia + rise // 2 + rng.randint(-3, 3),
                     rng.randint(62, 92), rng.randint(95, 99), rng.randint(12, 18))
    a = classify_reading(r, phase=phase, settings=session.patient.clinic.limits())
    return VitalsReading(session=session, taken_at=at, phase=phase, systolic_mmHg=r.systolic_mmHg,
                         diastolic_mmHg=r.diastolic_mmHg, heart_rate_bpm=r.heart_rate_bpm, spo2_percent=r.spo2_percent,
                         respiratory_rate_per_min=r.respiratory_rate_per_min, level=int(a.level), recorded_by=by,
                         recorded_at=at,
                         findings=[{"vital": f.vital, "level": int(f.level), "message": f.message, "source": f.source}
                                   for f in a.findings])


def _weight(patient) -> Decimal:
    w, _ = services.latest_weight(patient)
    return w or Decimal("72.0")


def _dose_fields(order, weight: Decimal) -> dict:
    if order.route == "intranasal":
        mg = order.fixed_dose_mg
        return {"prepared_dose_mg": mg, "devices": int(mg) // 28, "vial_or_device": "Spravato 28 mg nasal device"}
    mg = (weight * order.dose_mg_per_kg).quantize(Decimal("0.1"))
    f = {"prepared_dose_mg": mg, "weight_kg": weight, "dose_mg_per_kg": order.dose_mg_per_kg,
         "concentration_mg_per_mL": order.concentration_mg_per_mL,
         "prepared_volume_mL": (mg / order.concentration_mg_per_mL).quantize(Decimal("0.01")),
         "vial_or_device": "Ketamine HCl 50 mg/mL, 10 mL vial"}
    if order.route == "iv":
        vol = order.bag_volume_mL + f["prepared_volume_mL"]
        f.update(bag_volume_mL=order.bag_volume_mL, infusion_minutes=order.infusion_minutes,
                 rate_mL_per_h=(vol * 60 / order.infusion_minutes).quantize(Decimal("0.1")))
    return f


#: The synthetic lots the demo's doses are prepared from; the custody seed receives them (a first draw comes
#: from the lot recorded at preparation).
DEMO_LOTS = {"ketamine": "KD24A117", "esketamine": "SPV2411A"}


def past_session(ctx, order, seq, start, chair, users) -> TreatmentSession:
    """A completed, discharged and signed session built directly (synthetic history)."""
    rng = ctx.rng
    p = order.patient
    nurse, nurse2, prescriber = users["nurse"], users["nurse2"], users["prescriber"]
    weight = _weight(p)
    obs = {"iv": 95, "im": 125, "intranasal": 125}[order.route]
    dose_start = start + timedelta(minutes=30)
    dose_end = dose_start + timedelta(minutes=int(order.infusion_minutes or 0) if order.route == "iv" else
                                      (10 if order.route == "intranasal" else 0))
    discharged = dose_end + timedelta(minutes=obs) if order.route != "intranasal" else dose_start + timedelta(minutes=obs)
    s = TreatmentSession.objects.create(
        patient=p, order=order, sequence=seq, drug=order.drug, route=order.route, room=chair.room, chair=chair,
        scheduled_start=start, scheduled_minutes=services.default_minutes(order, p.clinic.limits()),
        status=TreatmentSession.Status.DISCHARGED, booked_by=users["frontdesk"], checked_in_at=start,
        identity_confirmed=True, fasting_confirmed=True, consent=ctx.extra["consents"][p.pk],
        no_driving_acknowledged=True,
        pregnancy_test="negative" if p.sex_at_birth != "male" else "", escort_name=p.escort_name,
        escort_phone=p.escort_phone, music=rng.choice(["Instrumental playlist", "Guided meditation", "Nature sounds"]),
        lighting=rng.choice(["Dimmed", "Dark, eye mask"]), prepared_by=nurse, prepared_at=start + timedelta(minutes=15),
        verified_by=nurse2, verified_at=start + timedelta(minutes=20), lot_number=DEMO_LOTS[order.drug],
        dose_started_at=dose_start, dose_ended_at=dose_end, administered_by=nurse, discharged_at=discharged,
        discharged_by=nurse, alert_and_oriented=True, steady_gait=True, created_at=start - timedelta(days=3),
        discharge_check={"ready": True, "missing": [], "at": discharged.isoformat()},
        note_summary=rng.choice(SUMMARIES), nurse_signed_by=nurse, nurse_signed_at=discharged + timedelta(minutes=10),
        prescriber_signed_by=prescriber, prescriber_signed_at=discharged + timedelta(hours=3),
        last_vitals_at=discharged - timedelta(minutes=5), **_dose_fields(order, weight),
    )
    s.verified_dose_mg, s.verified_weight_kg = s.prepared_dose_mg, s.weight_kg
    s.administered_mg = s.prepared_dose_mg
    s.save(update_fields=["verified_dose_mg", "verified_weight_kg", "administered_mg"])
    base_sys, base_dia = rng.randint(114, 132), rng.randint(70, 84)
    rows = [_vitals(rng, s, start + timedelta(minutes=10), "pre_dose", base_sys, base_dia, by=nurse)]
    t, k = dose_start + timedelta(minutes=10), 0
    while t < dose_end:
        rows.append(_vitals(rng, s, t, "during", base_sys, base_dia, rise=[6, 12, 10, 6][k % 4], by=nurse))
        t += timedelta(minutes=10)
        k += 1
    t = max(dose_end, dose_start) + timedelta(minutes=15)
    k = 0
    while t < discharged:
        rows.append(_vitals(rng, s, t, "recovery", base_sys, base_dia, rise=max(0, 10 - 4 * k), by=nurse))
        t += timedelta(minutes=15)
        k += 1
    VitalsReading.objects.bulk_create(rows)
    events = [SessionEvent(session=s, kind="start" if order.route != "intranasal" else "device", at=dose_start,
                           rate_mL_per_h=s.rate_mL_per_h, by=nurse)]
    if order.route == "intranasal":
        events.append(SessionEvent(session=s, kind="device", at=dose_start + timedelta(minutes=5), by=nurse))
    if order.route != "im":
        events.append(SessionEvent(session=s, kind="stop", at=dose_end, by=nurse))
    SessionEvent.objects.bulk_create(events)
    SessionRating.objects.bulk_create([
        SessionRating(session=s, scale="moaas", timepoint="peak", answers={"level": 4}, total=4, band="sedated",
                      at=dose_start + timedelta(minutes=40), recorded_by=nurse),
        SessionRating(session=s, scale="moaas", timepoint="pre_discharge", answers={"level": 5}, total=5,
                      band="alert", at=discharged - timedelta(minutes=10), recorded_by=nurse)])
    if rng.random() < 0.3:
        AdverseEvent.objects.create(session=s, kind="nausea", severity="mild", onset_at=dose_start + timedelta(minutes=25),
                                    action_taken="Reassurance, cool cloth", resolved_at=dose_end + timedelta(minutes=20),
                                    recorded_by=nurse)
    if order.route == "intranasal":
        pre = rows[0]
        post = [r for r in rows if r.phase != "pre_dose"]
        at40 = min(post, key=lambda r: abs((r.taken_at - dose_start - timedelta(minutes=40)).total_seconds()))
        minutes = int((discharged - dose_start).total_seconds() // 60)
        due = timezone.localtime(dose_start, p.clinic.tz).date() + timedelta(days=7)
        submitted = due < timezone.localdate() - timedelta(days=1)
        RemsForm.objects.create(
            session=s, status="submitted" if submitted else "complete", first_treatment=seq == 1,
            dose_mg=int(s.prepared_dose_mg), lot_number=s.lot_number, devices=s.devices, bp_before=pre.bp,
            bp_40min=at40.bp, bp_before_completion=post[-1].bp, vitals_acceptable_before=True,
            vitals_acceptable_completion=True, sedation=True, dissociation=True, respiratory_depression=False,
            minutes_monitored=minutes, ready_to_leave_minutes=minutes, completed_at=discharged, due_by=due,
            submitted_at=discharged + timedelta(days=2) if submitted else None,
            submitted_by=nurse if submitted else None)
    seals.seal_demo_history(_actor(prescriber), s)  # signed in the synthetic history: sealed as the demo's
    return s


#: Synthetic demo text: a clinic writes and reviews its own consent before use.
CONSENT_TITLES = {"ketamine": "Consent to ketamine treatment (DEMO)",
                  "esketamine": "Consent to esketamine nasal spray treatment (DEMO)"}
DEMO_CONSENT_TEXT = (
    "DEMO TEXT, SYNTHETIC: replace it with your clinic's own reviewed consent before use.\n\n"
    "Ketamine is used for depression outside its approved label (off-label); esketamine nasal spray is approved "
    "for treatment-resistant depression and is given under a safety programme (REMS). During and after a session "
    "you may feel detached or dreamlike (dissociation), sleepy, or sick, and your blood pressure may rise; a "
    "nurse checks your vital signs and stays with you until you are back to your usual self. Someone must take "
    "you home, and you must not drive or operate machinery until the next day after a restful sleep. You may stop "
    "treatment at any time. Ask the care team about anything you do not understand before you sign.")


def today_local(ctx):
    return timezone.localtime(ctx.now, ctx.clinic.tz).date()


def seed(ctx) -> None:
    users = ctx.users
    prescriber = _actor(users["prescriber"])
    clinic = ctx.clinic
    tz = clinic.tz
    infusion = list(Chair.objects.filter(room__clinic=clinic, room__kind=Room.Kind.INFUSION).select_related("room"))
    spravato = list(Chair.objects.filter(room__clinic=clinic, room__kind=Room.Kind.INTRANASAL).select_related("room"))
    eligible = ctx.extra.get("eligible", [])
    orders: list[TreatmentOrder] = []
    im_done = False
    for p, drug in eligible[:18]:
        if drug == "esketamine":
            data = ESK | {"titrate": True}  # the label's plan: 56 mg first, then 56 or 84 mg
        elif not im_done and len(orders) >= 1:
            data, im_done = IM, True
        else:
            data = IV
        order = services.write_order.within(actor=prescriber, patient=p, data=data)
        signed = ctx.now - timedelta(days=40)
        seals.backdate_demo_record(prescriber, order, created_at=signed, signed_at=signed)
        orders.append(order)
    ctx.extra["orders"] = orders
    # --- consent: one version per drug, signed by each patient when the order was written -----------------------
    admin = _actor(users["admin"])
    documents = {drug: services.add_consent_document.within(
        actor=admin, drug=drug, version="DEMO-1", title=title, text=DEMO_CONSENT_TEXT,
        effective_from=today_local(ctx) - timedelta(days=400)) for drug, title in CONSENT_TITLES.items()}
    ctx.extra["consents"] = {
        order.patient_id: ConsentSignature.objects.create(
            patient=order.patient, document=documents[order.drug], signer_name=order.patient.legal_name,
            signed_at=ctx.now - timedelta(days=40, hours=1), witnessed_by=users["nurse"])
        for order in orders}
    # --- history: completed, signed sessions over the past weeks ----------------------------------------
    today = timezone.localtime(ctx.now, tz).date()
    working = clinic.weekdays() or frozenset(range(5))
    # the clinic's booking hours (the calendar's, clinic.hours): tests/crossapp/test_demo_times.py checks every past
    # demo session against them and the clinic's working days
    hours = hours_of(clinic)
    past: list[TreatmentSession] = []
    for n, order in enumerate(orders):
        chairs = spravato if order.route == "intranasal" else infusion
        count = min(order.sessions_planned - 2, 2 + n % 4)
        day = today - timedelta(days=3 + 3 * count + n % 3)
        # The session's whole chair time (pre-checks, dosing, observation) ends by closing time.
        chair_minutes = services.default_minutes(order, clinic.limits())
        latest = (datetime.combine(today, hours.closes) - timedelta(minutes=chair_minutes)).time()
        at = min((datetime.combine(today, hours.opens) + timedelta(hours=(n % 5) * 2)).time(), latest)
        for seq in range(1, count + 1):
            while day.weekday() not in working:
                day += timedelta(days=1)
            start = datetime.combine(day, at, tzinfo=tz)
            chair = chairs[(n + seq) % len(chairs)]
            past.append(past_session(ctx, order, seq, start, chair, users))
            day += timedelta(days=3)
    ctx.extra["past_sessions"] = past
    # --- today: one session in each phase ----------------------------------------------------------------
    _today(ctx, orders, infusion, spravato)


def _today(ctx, orders, infusion, spravato) -> None:
    from ketaclinic.treatments.models import Phase

    users = ctx.users
    nurse, nurse2, prescriber, desk = (_actor(users[k]) for k in ("nurse", "nurse2", "prescriber", "frontdesk"))
    now = timezone.now()
    rng = ctx.rng
    iv = [o for o in orders if o.route == "iv"]
    im = [o for o in orders if o.route == "im"]
    esk = [o for o in orders if o.route == "intranasal"]
    plan = [  # (order, chair, minutes ago started, target phase)
        (iv[0] if iv else None, infusion[0], 240, "discharged"),
        (iv[1] if len(iv) > 1 else None, infusion[1], 170, "ready"),
        (iv[2] if len(iv) > 2 else None, infusion[2 % len(infusion)], 75, "dosing"),
        (im[0] if im else None, infusion[3 % len(infusion)], 60, "observation"),
        (esk[0] if esk else None, spravato[0], 70, "observation"),
        (iv[3] if len(iv) > 3 else None, infusion[0], -10, "pre_checks"),
        (esk[1] if len(esk) > 1 else None, spravato[1], 5, "checked_in"),
        (iv[4] if len(iv) > 4 else None, infusion[1], -150, "booked"),
    ]
    # Today's sessions are booked as the front desk books them: inside the clinic's hours on a working day. Early in
    # the day a session started no earlier than opening (if its phase has had the time it needs since); on a day
    # the clinic does not work, or outside its hours, there is nothing in progress, and the session still to come
    # is booked at the clinic's next bookable time.
    clinic = ctx.clinic
    hours = hours_of(clinic)
    local_now = timezone.localtime(now, clinic.tz)
    opening = wall_clock_moment(local_now.date(), hours.opens, clinic.tz)
    since_opening = int((now - opening).total_seconds() // 60) if opening is not None else -1
    missing = []
    for order, chair, ago, target in plan:
        if order is None:
            continue
        minutes = services.default_minutes(order, clinic.limits())
        if target == "booked":
            later = (now - timedelta(minutes=ago)).replace(second=0, microsecond=0)
            start = first_bookable(clinic, later, later + timedelta(weeks=3), minutes) or later
        else:
            if ago > since_opening >= NEEDS_MINUTES[target]:
                ago = since_opening  # begun at opening: the phase has still had its time
            start = (now - timedelta(minutes=ago)).replace(second=0, microsecond=0)
            if outside_hours(clinic, start, minutes, hours=hours):
                missing.append(target)
                continue
        s = None
        for c in [chair] + [x for x in (spravato if order.route == "intranasal" else infusion) if x != chair]:
            try:
                s = services.book_session.within(actor=desk, order=order, start=start, room=c.room, chair=c)
                break
            except services.TreatmentError:
                continue
        if s is None:
            continue
        if target == "booked":
            continue
        s = services.check_in.within(actor=desk, session=s)
        arrived = min(start, now - timedelta(minutes=2))
        TreatmentSession.objects.filter(pk=s.pk).update(checked_in_at=arrived)
        s.refresh_from_db()
        if target == "checked_in":
            continue
        p = s.patient
        services.save_prechecks.within(actor=nurse, session=s, data={
            "identity_confirmed": True, "fasting_confirmed": True,
            "no_driving_acknowledged": target != "pre_checks", "weight_kg": str(_weight(p)),
            "pregnancy_test": "negative" if p.sex_at_birth != "male" else "", "escort_name": p.escort_name,
            "escort_phone": p.escort_phone, "music": "Guided meditation", "lighting": "Dimmed"})
        base = (rng.randint(116, 130), rng.randint(72, 82))
        services.add_vitals.within(actor=nurse, session=s, values={
            "systolic_mmHg": base[0], "diastolic_mmHg": base[1], "heart_rate_bpm": 74, "spo2_percent": 98,
            "respiratory_rate_per_min": 14}, taken_at=min(now, arrived + timedelta(minutes=8)))
        if target == "pre_checks":
            continue
        s.refresh_from_db()
        if services.titration.prepare_blocker(s):  # a titrated series: the prescriber signs the proposed dose
            shown = services.propose_for(s)
            services.sign_dose.within(actor=prescriber, session=s, dose=shown.proposal.dose)
        services.prepare_dose.within(actor=nurse, session=s, data={
            "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "lot_number": DEMO_LOTS[s.drug],
            "vial_or_device": "Spravato 28 mg nasal device" if s.route == "intranasal" else
            "Ketamine HCl 50 mg/mL, 10 mL vial"})
        s.refresh_from_db()
        services.verify_dose.within(actor=nurse2, session=s, weight_kg=s.weight_kg, dose_mg=s.prepared_dose_mg,
                                    concentration_mg_per_mL=s.concentration_mg_per_mL, bag_volume_mL=s.bag_volume_mL)
        dose_start = start + timedelta(minutes=25)
        services.start_dose.within(actor=nurse, session=s, at=dose_start)
        s.refresh_from_db()
        during_end = min(now, dose_start + timedelta(minutes=int(s.infusion_minutes or 0)))
        t = dose_start + timedelta(minutes=10)
        while s.route == "iv" and t <= during_end:
            services.add_vitals.within(actor=nurse, session=s, values={
                "systolic_mmHg": base[0] + 8 + (14 if target == "dosing" else 0), "diastolic_mmHg": base[1] + 6,
                "heart_rate_bpm": 80, "spo2_percent": 97, "respiratory_rate_per_min": 14}, taken_at=t)
            t += timedelta(minutes=10)
        if target == "dosing":
            continue
        if s.route == "intranasal":
            services.dosing_event.within(actor=nurse, session=s, kind="device", at=dose_start + timedelta(minutes=5))
            services.dosing_event.within(actor=nurse, session=s, kind="stop", at=dose_start + timedelta(minutes=5))
        elif s.route == "iv":
            services.dosing_event.within(actor=nurse, session=s, kind="stop",
                                  at=dose_start + timedelta(minutes=int(s.infusion_minutes or 40)))
        s.refresh_from_db()
        t = (s.dose_ended_at or dose_start) + timedelta(minutes=15)
        while t <= now:
            services.add_vitals.within(actor=nurse, session=s, values={
                "systolic_mmHg": base[0] + 3, "diastolic_mmHg": base[1] + 2, "heart_rate_bpm": 72,
                "spo2_percent": 98, "respiratory_rate_per_min": 14}, taken_at=t)
            t += timedelta(minutes=15)
        services.add_rating.within(actor=nurse, session=s, scale="moaas", timepoint="peak", answers={"level": 4})
        if s.route == "intranasal":
            services.update_rems.within(actor=nurse, session=s, data={"sedation": "yes", "dissociation": "yes",
                                                               "respiratory_depression": "no"})
        if target == "observation":
            continue
        services.record_recovery.within(actor=nurse, session=s, alert_and_oriented=True, steady_gait=True)
        s.refresh_from_db()
        if target == "ready":
            continue
        services.discharge.within(actor=nurse, session=s)
        # The nurse signs once the session's drug account balances: the custody seed draws, posts the
        # administration and wastes the residue for it, then signs (see ketaclinic/custody/demo.py).
        ctx.extra.setdefault("sign_after_custody", []).append(
            (s.pk, "Synthetic demo: uneventful infusion, discharged home with escort."))
    if missing:
        print(f"  treatments: the clinic books {hours.describe()}; at {local_now:%a %H:%M} today's board has no "
              f"session {', '.join(missing)} (load the demo during the clinic's hours to see every phase)")
    _ = (Phase, prescriber)
