"""Recording the session as it happens: vital-sign rows (classified by the clinical core), adverse events,
CADSS and MOAA/S ratings, observations, and when the next vitals reading is due."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.utils import timezone

from ketaclinic import loading
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import session as rules
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import score
from ketaclinic.clinical.vitals import (
    Level,
    VitalReading,
    classify_latest,
    classify_reading,
    validate_reading,
)
from ketaclinic.inputs import parse_id
from ketaclinic.treatments.models import (
    AdverseEvent,
    AlertAcknowledgement,
    Observation,
    Phase,
    SessionRating,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services._common import (
    CLOCK_SKEW,
    CLOSED,
    FINISHED,
    VITAL_FIELDS,
    VITAL_LABELS,
    S,
    TreatmentError,
    _clinical,
    _intact,
    _lock,
    _phase_for,
    _reading,
    _roles,
    limits_for,
    use_case,
)
from ketaclinic.treatments.services.dose import auto_pause_for_reading
from ketaclinic.treatments.services.readiness import _refresh_readiness


@use_case
def add_vitals(*, actor: Actor, session: TreatmentSession, values: Mapping[str, object],
               taken_at: datetime | None = None) -> VitalsReading:
    """Save one row of vital signs on its own, classified by the clinical core."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record vital signs")
    s = _lock(session, only=VITALS_SESSION_FIELDS)
    now = timezone.now()
    taken_at = taken_at or now
    started = s.checked_in_at
    if started is None or s.status in (S.BOOKED, *CLOSED):
        raise TreatmentError({"taken_at": "Check the patient in before recording vital signs."})
    if s.status in FINISHED:
        raise TreatmentError({"taken_at": f"The patient has been {s.get_status_display().lower()}."})
    if taken_at > now + CLOCK_SKEW:
        raise TreatmentError({"taken_at": f"{timezone.localtime(taken_at):%H:%M} is in the future; check the time."})
    if taken_at < started:
        raise TreatmentError({"taken_at": f"{timezone.localtime(taken_at):%H:%M} is before the session started "
                              f"({timezone.localtime(started):%H:%M})."})
    clean: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for f in VITAL_FIELDS:
        raw = values.get(f)
        if raw in (None, ""):
            clean[f] = None
            continue
        try:
            clean[f] = int(str(raw).strip())
        except ValueError:
            errors[f] = f"{VITAL_LABELS[f]} must be a whole number."
    if errors:
        raise TreatmentError(errors)
    if all(v is None for v in clean.values()):
        raise TreatmentError({"systolic_mmHg": "Enter at least one vital sign."})
    reading = VitalReading(**clean)  # type: ignore[arg-type]
    try:
        validate_reading(reading)
    except ClinicalInputError as e:
        raise TreatmentError({e.field or "systolic_mmHg": f"{VITAL_LABELS.get(e.field or '', '')} {e.message}".strip()}) \
            from None
    phase = _phase_for(s)
    cfg = limits_for(s.patient)
    # The newest reading before this one and the reading the dose was started on (the newest before the dose),
    # in one read: the second only once the dose has started.
    dosed = phase != Phase.PRE_DOSE
    found = loading.rows(VitalsReading, _NEWEST_READ, _NEWEST_AND_BASELINE if dosed else _NEWEST,
                         [s.pk, s.pk, Phase.PRE_DOSE] if dosed else [s.pk])
    newest_row = max(found, key=lambda r: (r.taken_at, r.pk), default=None)
    newest = (newest_row.pk, newest_row.taken_at) if newest_row else None
    baseline_row = next((r for r in found if r.phase == Phase.PRE_DOSE), None) if dosed else None
    baseline = _reading(baseline_row) if baseline_row else None
    try:
        if phase == Phase.PRE_DOSE:
            assessment = classify_reading(reading, phase=phase, settings=cfg)
        else:
            assessment = classify_latest(taken_at, reading, _readings_back_from(s, taken_at), phase=phase,
                                         baseline=baseline, settings=cfg)
    except ClinicalInputError as e:
        raise _clinical(e) from None
    row = VitalsReading.objects.create(
        session=s, taken_at=taken_at, phase=phase, level=int(assessment.level), recorded_by=actor.user,
        findings=[{"vital": f.vital, "level": int(f.level), "message": f.message, "source": f.source}
                  for f in assessment.findings], **clean,
    )
    is_newest = newest is None or taken_at >= newest[1]
    latest_at = taken_at if is_newest else newest[1]
    fields = ["last_vitals_at", "alert_level"]
    s.last_vitals_at = latest_at
    raised_to = None  # the level the newest reading rose to, judged again with a back-dated one
    if is_newest:
        s.alert_level = int(assessment.level)
    elif phase != Phase.PRE_DOSE:
        # A back-dated reading joins the history of the newest reading: it may lengthen a run of high values into a
        # sustained STOP. The newest reading is judged again with it, and the session never goes down for it.
        again = _newest_level_again(s, newest[0], baseline, cfg)
        if again > s.alert_level:
            s.alert_level = raised_to = again
    s.save(update_fields=fields)
    audit.record(actor, AuditAction.SESSION_VITALS_RECORDED, subject=s, patient=s.patient,
                 details={"phase": phase, "level": assessment.level.name, **clean, "taken_at": taken_at.isoformat()})
    # What the screen that sent the reading needs to know to add it in place: the reading that was the newest
    # before it (read under the session's lock) and whether this one is the newest now.
    row.previous_newest_pk = newest[0] if newest else None
    row.is_newest = is_newest
    row.hold_instruction = auto_pause_for_reading(actor, s, row, level=raised_to)  # hold means hold
    # Readiness reads the newest reading before the dose and the newest after it: known here unless the reading
    # was back-dated (then every reading is read).
    _refresh_readiness(s, rows=[r for r in (baseline_row, row) if r is not None] if is_newest else None)
    return row


#: What a vitals save reads of its session, locked (``_lock(only=...)``): the checks before the row, the pause a
#: HOLD or STOP starts, the readiness for discharge, and the answer's (treatments.views.vitals_saved_context). The
#: order's row is neither read nor locked: nothing here reads it, and stopping an order does not wait for a
#: reading. The ORM's compilation of the session and its order, 99 columns, was an eighth of a save.
VITALS_SESSION_FIELDS = (
    "external_id", "patient_id", "route", "status", "checked_in_at", "dose_started_at", "dose_ended_at",
    "alert_level", "last_vitals_at", "paused_at", "pause_level", "pump_pause_confirmed_at",
    "pump_pause_confirmed_by_id", "alert_and_oriented", "steady_gait", "escort_name", "escort_phone",
    "no_driving_acknowledged", "nurse_signed_at", "prescriber_signed_at")
_NEWEST_READ = ("taken_at", "phase", *VITAL_FIELDS)
_NEWEST_SQL = "SELECT {id} FROM {t} WHERE {session_id} = %s ORDER BY {taken_at} DESC, {id} DESC LIMIT 1"
_NEWEST = "{id} = (" + _NEWEST_SQL + ")"
_NEWEST_AND_BASELINE = ("{id} IN ((" + _NEWEST_SQL + "), (SELECT {id} FROM {t} WHERE {session_id} = %s AND {phase} = %s "
                        "ORDER BY {taken_at} DESC, {id} DESC LIMIT 1))")


def _newest_level_again(s: TreatmentSession, newest_pk: int, baseline, cfg) -> int:
    """The level of the session's newest reading, judged again with every reading before it (after a back-dated
    one was added)."""
    newest = VitalsReading.objects.only("taken_at", "phase", "level", *VITAL_FIELDS).get(pk=newest_pk)
    if newest.phase == Phase.PRE_DOSE:
        return int(newest.level)
    earlier = _readings_back_from(s, newest.taken_at, besides=newest_pk)
    try:
        return int(classify_latest(newest.taken_at, _reading(newest), earlier, phase=newest.phase,
                                   baseline=baseline, settings=cfg).level)
    except ClinicalInputError:
        return int(newest.level)


def _readings_back_from(s: TreatmentSession, at: datetime, *, besides: int | None = None):
    """The session's readings from the dose on taken at or before ``at`` (but the one whose id is ``besides``),
    newest first, as (taken_at, VitalReading), fetched a few at a time and only as far as the caller reads (the
    sustained-limit rule stops at the first reading that breaks a run), so a session with 400 readings costs what
    one with 10 does."""
    qs = (VitalsReading.objects.filter(session=s, taken_at__lte=at).exclude(phase=Phase.PRE_DOSE)
          .order_by("-taken_at", "-pk").only("taken_at", *VITAL_FIELDS))
    if besides is not None:
        qs = qs.exclude(pk=besides)
    offset, size = 0, 8
    while True:
        chunk = list(qs[offset:offset + size])
        yield from ((r.taken_at, _reading(r)) for r in chunk)
        if len(chunk) < size:
            return
        offset, size = offset + size, size * 4


@use_case
def add_adverse_event(*, actor: Actor, session: TreatmentSession, data: Mapping[str, object]) -> AdverseEvent:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record adverse events")
    s = _lock(session)
    kind = str(data.get("kind", ""))
    if kind not in AdverseEvent.Kind.values:
        raise TreatmentError({"kind": "Choose the adverse event."})
    severity = str(data.get("severity", "mild"))
    if severity not in AdverseEvent.Severity.values:
        raise TreatmentError({"severity": "Choose mild, moderate or severe."})
    if kind == AdverseEvent.Kind.OTHER and not str(data.get("description", "")).strip():
        raise TreatmentError({"description": "Describe the event."})
    ae = AdverseEvent.objects.create(
        session=s, kind=kind, severity=severity, description=str(data.get("description", ""))[:300],
        action_taken=str(data.get("action_taken", ""))[:300],
        rescue_medication=str(data.get("rescue_medication", ""))[:200], recorded_by=actor.user,
        resolved_at=timezone.now() if data.get("resolved") else None)
    audit.record(actor, AuditAction.SESSION_ADVERSE_EVENT_RECORDED, subject=s, patient=s.patient,
                 details={"kind": kind, "severity": severity, "action": ae.action_taken,
                          "rescue_medication": ae.rescue_medication})
    _refresh_readiness(s)
    return ae


@use_case
def resolve_adverse_event(*, actor: Actor, session: TreatmentSession, event_id: object) -> AdverseEvent:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="resolve adverse events")
    s = _lock(session)
    pk = parse_id(event_id)
    ae = AdverseEvent.objects.select_for_update().filter(pk=pk, session=s).first() if pk is not None else None
    if ae is None:
        raise TreatmentError({"event": "That adverse event is not recorded in this session; reload the page."})
    if ae.resolved_at:
        raise TreatmentError("Already resolved.")
    signed = _intact(s)  # resolved after the note was signed: the session is sealed again
    ae.resolved_at = timezone.now()
    ae.save(update_fields=["resolved_at"])
    if signed:
        seals.record(actor, AuditAction.SESSION_ADVERSE_EVENT_RESOLVED, s, patient=s.patient, details={"kind": ae.kind})
    else:
        audit.record(actor, AuditAction.SESSION_ADVERSE_EVENT_RESOLVED, subject=s, patient=s.patient,
                     details={"kind": ae.kind})
    _refresh_readiness(s)
    return ae


@use_case
def add_rating(*, actor: Actor, session: TreatmentSession, scale: str, timepoint: str,
               answers: Mapping[str, object]) -> SessionRating:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record ratings")
    s = _lock(session)
    if scale not in ("cadss", "moaas"):
        raise TreatmentError({"scale": "Choose CADSS or MOAA/S."})
    if timepoint not in SessionRating.Timepoint.values:
        raise TreatmentError({"timepoint": "Choose when the rating was made."})
    try:
        result = score(scale, answers, settings=limits_for(s.patient))  # type: ignore[arg-type]
    except ClinicalInputError as e:
        raise _clinical(e, "scale") from None
    if not result.complete:
        raise TreatmentError({"scale": result.detail})
    row = SessionRating.objects.create(
        session=s, scale=scale, timepoint=timepoint, answers=dict(result.answered), total=result.total,
        band=result.band or "", recorded_by=actor.user,
        flags=[{"code": f.code, "message": f.message, "urgent": f.urgent} for f in result.flags])
    audit.record(actor, AuditAction.SESSION_RATING_RECORDED, subject=s, patient=s.patient,
                 details={"scale": scale, "timepoint": timepoint, "total": result.total})
    return row


@use_case
def add_observation(*, actor: Actor, session: TreatmentSession, text: str) -> Observation:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record observations")
    s = _lock(session)
    if not text.strip():
        raise TreatmentError({"text": "Write the observation."})
    obs = Observation.objects.create(session=s, text=text.strip()[:4000], recorded_by=actor.user)
    audit.record(actor, AuditAction.SESSION_OBSERVATION_RECORDED, subject=s, patient=s.patient)
    return obs


def next_vitals_due(s: TreatmentSession, settings: dict | None = None) -> datetime | None:
    """When the next vitals reading is due, for the phase the session is in. ``settings``: the clinic's limits,
    when the caller has them (a board of many sessions reads them once)."""
    if s.status not in (S.DOSING, S.OBSERVATION, S.READY) or s.dose_started_at is None:
        return None
    phase = _phase_for(s)
    interval = rules.vitals_interval_minutes(s.route, phase,
                                             settings if settings is not None else limits_for(s.patient))
    base = s.last_vitals_at or s.dose_started_at
    if s.last_vitals_at and s.last_vitals_at < s.dose_started_at:
        base = s.dose_started_at
    return base + timedelta(minutes=interval)


ALERT_ACTIONS = {AlertAcknowledgement.Kind.DONE: AuditAction.SESSION_ALERT_ACKNOWLEDGED,
                 AlertAcknowledgement.Kind.SEEN: AuditAction.SESSION_ALERT_SEEN_BY_PRESCRIBER}


@use_case
def acknowledge_alert(*, actor: Actor, session: TreatmentSession, reading_id: int, note: str = ""
                      ) -> AlertAcknowledgement:
    """The nurse acknowledges a HOLD or STOP reading at the chair (the steps are being taken), or a prescriber
    records that they have seen it; each person once per reading, with name and time (rule
    ``session.chair_alert``)."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="acknowledge a vital-signs alert")
    s = _lock(session)
    reading = VitalsReading.objects.filter(session=s, pk=reading_id).first()
    if reading is None:
        raise TreatmentError({"reading": "That reading is not part of this session."})
    if reading.level < Level.HOLD:
        raise TreatmentError({"reading": "Only a reading at HOLD or STOP is acknowledged."})
    kind = AlertAcknowledgement.Kind.SEEN if Role.PRESCRIBER in actor.roles else AlertAcknowledgement.Kind.DONE
    if AlertAcknowledgement.objects.filter(reading=reading, kind=kind, by=actor.user).exists():
        raise TreatmentError({"reading": "You have already acknowledged this reading."})
    ack = AlertAcknowledgement.objects.create(session=s, reading=reading, kind=kind, by=actor.user,
                                              note=note.strip()[:300])
    audit.record(actor, ALERT_ACTIONS[kind], subject=s, patient=s.patient,
                 details={"reading": reading.pk, "level": reading.level_name, "note": ack.note})
    return ack
