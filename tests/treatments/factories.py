"""Plain helpers to build a treatment journey in tests (shared by the screening, treatments, integration and
browser tests)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Room
from ketaclinic.patients.models import BodyMeasurement
from ketaclinic.screening import services as screening
from ketaclinic.treatments import demo, services
from ketaclinic.treatments.models import Phase, SessionEvent, TreatmentSession, VitalsReading


def actor(user) -> Actor:
    return Actor(user=user, roles=user.role_set(), client_ip="127.0.0.1")


def make_rooms(clinic) -> dict:
    a = Room.objects.create(clinic=clinic, name="Infusion Room A", kind=Room.Kind.INFUSION)
    spr = Room.objects.create(clinic=clinic, name="Spravato Suite", kind=Room.Kind.INTRANASAL)
    consult = Room.objects.create(clinic=clinic, name="Consult Room", kind=Room.Kind.CONSULT)
    therapy = Room.objects.create(clinic=clinic, name="Integration Room", kind=Room.Kind.THERAPY)
    return {
        "infusion": a, "spravato": spr, "consult": consult, "therapy": therapy,
        "a1": Chair.objects.create(room=a, label="Chair 1"), "a2": Chair.objects.create(room=a, label="Chair 2"),
        "s1": Chair.objects.create(room=spr, label="Chair 1"), "s2": Chair.objects.create(room=spr, label="Chair 2"),
    }


def make_eligible(patient, staff, drug="ketamine", weight="70.0", flags=(), sign=True):
    """A consult with MDD, two failed adequate trials, normal baseline BP; assessed and (by default) signed."""
    BodyMeasurement.objects.create(patient=patient, weight_kg=Decimal(weight), height_cm=Decimal("170"),
                                   recorded_by=staff["nurse"], measured_at=timezone.now() - timedelta(days=7))
    nurse, prescriber = actor(staff["nurse"]), actor(staff["prescriber"])
    consult = screening.start_consult(actor=nurse, patient=patient, drug=drug)
    screening.update_intake(actor=nurse, consult=consult, data={
        "diagnoses": ["F33.2"], "history_flags": list(flags), "medication_classes": [], "weight_kg": weight,
        "height_cm": "170", "baseline_systolic_mmHg": "122", "baseline_diastolic_mmHg": "78",
        "baseline_heart_rate_bpm": "72", "baseline_spo2_percent": "98"})
    for d in ("sertraline", "bupropion"):
        screening.add_trial(actor=nurse, consult=consult, drug=d, dose="adequate", weeks="8", adequate_dose=True,
                            outcome="no_response")
    assessment = screening.assess(actor=nurse, consult=consult)
    if sign and assessment.has_absolute:
        assessment = screening.sign_assessment(actor=prescriber, assessment=assessment, decision="decline")
    elif sign:
        decision = "accept"
        reason = "" if assessment.outcome == "eligible" else "Benefit outweighs risk after discussion."
        assessment = screening.sign_assessment(actor=prescriber, assessment=assessment, decision=decision,
                                               override_reason=reason)
    return consult, assessment


# The same order templates the demo clinic uses.
IV, IM, ESK = demo.IV, demo.IM, demo.ESK


def make_order(patient, staff, data=IV, drug=None):
    drug = drug or data["drug"]
    make_eligible(patient, staff, drug=drug)
    return services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=data)


def book_now(order, staff, rooms, minutes_ago=0, chair=None):
    chair = chair or (rooms["s1"] if order.route == "intranasal" else rooms["a1"])
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return services.book_session(actor=actor(staff["front_desk"]), order=order, start=start, room=chair.room,
                                 chair=chair)


def checked_in(session, staff, minutes_ago=0):
    s = services.check_in(actor=actor(staff["front_desk"]), session=session)
    if minutes_ago:
        TreatmentSession.objects.filter(pk=s.pk).update(checked_in_at=timezone.now() - timedelta(minutes=minutes_ago))
        s.refresh_from_db()
    return s


def prechecked(session, staff, weight="70.0", escort=True):
    services.save_prechecks(actor=actor(staff["nurse"]), session=session, data={
        "identity_confirmed": True, "fasting_confirmed": True, "consent_on_file": True,
        "no_driving_acknowledged": True, "weight_kg": weight, "pregnancy_test": "negative",
        "escort_name": "Lee Sampleton" if escort else "", "escort_phone": "(303) 555-0111" if escort else ""})
    session.refresh_from_db()
    return session


def ready_to_start(session, staff, *, minutes_ago=0, bp=("124", "78")):
    s = checked_in(session, staff, minutes_ago=minutes_ago)
    s = prechecked(s, staff)
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values={
        "systolic_mmHg": bp[0], "diastolic_mmHg": bp[1], "heart_rate_bpm": "72", "spo2_percent": "98",
        "respiratory_rate_per_min": "14"}, taken_at=timezone.now() - timedelta(minutes=max(0, minutes_ago - 5)))
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "Ketamine 50 mg/mL 10 mL vial"
        if s.route != "intranasal" else "Spravato 28 mg device", "lot_number": "LOT123"})
    s.refresh_from_db()
    services.verify_dose(actor=actor(staff["prescriber"]), session=s, weight_kg=s.weight_kg,
                         dose_mg=s.prepared_dose_mg)
    s.refresh_from_db()
    return s


def shift_back(session, minutes: int) -> None:
    """Move every time of the session ``minutes`` into the past (for tests of observation time)."""
    d = timedelta(minutes=minutes)
    s = TreatmentSession.objects.get(pk=session.pk)
    for f in ("checked_in_at", "dose_started_at", "dose_ended_at", "prepared_at", "verified_at", "last_vitals_at"):
        if getattr(s, f):
            setattr(s, f, getattr(s, f) - d)
    s.scheduled_start -= d
    s.save()
    for r in VitalsReading.objects.filter(session=s):
        VitalsReading.objects.filter(pk=r.pk).update(taken_at=r.taken_at - d)
    for e in SessionEvent.objects.filter(session=s):
        SessionEvent.objects.filter(pk=e.pk).update(at=e.at - d)


def normal_vitals(session, staff, when=None):
    return services.add_vitals(actor=actor(staff["nurse"]), session=session, values={
        "systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": "76", "spo2_percent": "98",
        "respiratory_rate_per_min": "14"}, taken_at=when)


_ = Phase
