"""Whether a patient is ready to go home: the clinical core's discharge check for a session, and the session's
status kept in step with it (observation or ready) after each change that can alter it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ketaclinic.clinical import discharge as discharge_rules
from ketaclinic.treatments.models import Phase, Route, SessionEvent, TreatmentSession, VitalsReading
from ketaclinic.treatments.services._common import S, _reading, limits_for


def discharge_decision(s: TreatmentSession, rows: list[VitalsReading] | None = None,
                       active_ae: bool | None = None, now: datetime | None = None
                       ) -> discharge_rules.DischargeDecision | None:
    """The clinical core's readiness check for the session (None before the dose has ended)."""
    if s.dose_ended_at is None or s.dose_started_at is None:
        return None
    now = now or timezone.now()
    rows = rows if rows is not None else list(s.vitals.order_by("taken_at", "pk"))
    if active_ae is None:
        active_ae = s.adverse_events.filter(resolved_at__isnull=True).exists()
    clock = observation_clock(s)
    minutes = discharge_rules.minutes_since(clock, now) if clock else 0
    post = [r for r in rows if r.phase != Phase.PRE_DOSE]
    pre = [r for r in rows if r.phase == Phase.PRE_DOSE]
    return discharge_rules.discharge_readiness(discharge_rules.DischargeInput(
        route=s.route, minutes_since_dose_end=min(minutes, 24 * 60),
        latest=_reading(post[-1]) if post else None, baseline=_reading(pre[-1]) if pre else None,
        alert_and_oriented=s.alert_and_oriented, steady_gait=s.steady_gait, active_adverse_event=active_ae,
        escort_present=bool(s.escort_name.strip() and s.escort_phone.strip()),
        no_driving_acknowledged=s.no_driving_acknowledged), settings=limits_for(s.patient))


def ready_from(s: TreatmentSession, device_times: list[datetime] | None = None,
               settings: dict | None = None) -> datetime | None:
    """The earliest time the route's minimum observation lets the patient go ("ready from HH:MM";
    :func:`ketaclinic.clinical.discharge.earliest_discharge_at`); None while dosing goes on. ``settings``: the
    clinic's limits, when the caller has them (a board of many sessions validates them once)."""
    return discharge_rules.earliest_discharge_at(s.route, observation_clock(s, device_times),
                                                 settings if settings is not None else limits_for(s.patient))


def observation_clock(s: TreatmentSession, device_times: list[datetime] | None = None) -> datetime | None:
    """When the observation before discharge starts counting: the end of the IV infusion, the IM injection, or
    the LAST esketamine device (:func:`ketaclinic.clinical.discharge.observation_clock_start`)."""
    if device_times is None:
        device_times = (list(s.events.filter(kind=SessionEvent.Kind.DEVICE).values_list("at", flat=True))
                        if s.route == Route.INTRANASAL else [])
    return discharge_rules.observation_clock_start(s.route, dose_started_at=s.dose_started_at,
                                                   dose_ended_at=s.dose_ended_at, device_times=device_times)


def _refresh_readiness(s: TreatmentSession, rows: list[VitalsReading] | None = None) -> None:
    """Move the session between observation and ready as the core's discharge check says. ``rows``: at least the
    session's newest reading before the dose and its newest after (as :func:`discharge_decision` reads them), when
    the caller has them; otherwise every reading is read."""
    if s.status not in (S.OBSERVATION, S.READY):
        return
    if rows is not None:
        rows = sorted(rows, key=lambda r: (r.taken_at, r.pk))
    d = discharge_decision(s, rows)
    new = S.READY if d is not None and d.ready else S.OBSERVATION
    if new != s.status:
        s.status = new
        TreatmentSession.objects.filter(pk=s.pk).update(status=new)
