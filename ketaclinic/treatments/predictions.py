"""Predicted plasma levels for a treatment session (issue 14): the session's doses as the pharmacokinetic simulator
(:mod:`ketaclinic.clinical.pk`) reads them, the curves of every published model for the route, the population band
of the model in use where it publishes variability, and when the level falls below the clinic's level.

Before the dose starts the doses are the ones planned (prepared, signed or ordered, with the session's weight);
once it has started they are the dosing events the cockpit recorded: the infusion's start, pauses, resumes, rate
changes and stop (the pump's rate times the bag's concentration, as :func:`ketaclinic.clinical.dosing.infused_dose`
counts it), the IM injection, each esketamine device at its time.

An IM injection is drawn under each racemic IV model with the clinic's IM absorption (bioavailability and Tmax
range, unconfirmed settings from pk-models.md §1.4, status U): the absorption rate is solved so that the model
peaks at each end of the Tmax range (:func:`ketaclinic.clinical.pk.ka_for_tmax`), one curve per model and end,
and the time below the clinic's level is the latest of them (conservative).

Every level is a model estimate, not a measured level (``pk.LABEL``); the time below the clinic's level is advice
beside the discharge readiness, never a discharge criterion. Read-only: nothing here writes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.clinical import pk
from ketaclinic.clinical import settings as clinical_settings
from ketaclinic.clinical.dosing import ESKETAMINE_DEVICE_MG, pump_segments
from ketaclinic.patients.models import BodyMeasurement, Patient
from ketaclinic.treatments.models import Route, SessionEvent, TreatmentSession

LABEL = pk.LABEL
#: A session in one of these states without a dose started will not be dosed.
CLOSED = (TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW, TreatmentSession.Status.DISCHARGED,
          TreatmentSession.Status.TRANSFERRED)
#: The published models drawn for each route (the spread); the model in use is one of them.
#: An IM injection is drawn under the racemic IV models with the clinic's (unconfirmed) IM absorption: one curve per
#: model and end of the Tmax range (:mod:`ketaclinic.clinical.pk.absorption`).
ROUTE_MODELS: dict[str, tuple[str, ...]] = {Route.IV: pk.RACEMIC_IV_ADULT, Route.IM: pk.RACEMIC_IV_ADULT,
                                            Route.INTRANASAL: ("perez-ruixo",)}
#: The predicted drug level each route's models are timed on, and the clinic setting of its level.
OUTPUT = {Route.IV: ("ketamine", "racemic ketamine", "pk.ketamine_below_ng_per_mL"),
          Route.IM: ("ketamine", "racemic ketamine", "pk.ketamine_below_ng_per_mL"),
          Route.INTRANASAL: ("esketamine", "esketamine", "pk.esketamine_below_ng_per_mL")}
NO_IM_BAND = ("No population band for an IM injection: no source gives the variability of IM absorption, so the "
              "spread across the models and the Tmax range is all that is drawn.")
NO_WEIGHT = ("No predicted curve: no weight is recorded for this session or the patient. Record today's weight "
             "in the pre-checks (or on the chart) to see the model estimate.")
#: Virtual patients of the population band, and its seed (the same band on every redraw).
BAND_PATIENTS = 300
BAND_SEED = 14
#: The band's percentiles.
BAND_PERCENTILES = (5.0, 50.0, 95.0)
#: The chart's exposure: minutes after the start over which the AUC is summed.
AUC_MINUTES = 24 * 60


class Unpredictable(Exception):
    """Why a session has no curve, in a sentence for the panel."""


@dataclass(frozen=True)
class Dosing:
    """A session's doses for the simulator: ``regimen`` in minutes from ``origin`` (the dose's start, or the
    moment a planned dose is drawn from), ``basis`` in words, ``end_min`` when the dosing ends (recorded or
    planned), ``notes`` what the curve assumes."""

    regimen: pk.Regimen
    origin: datetime
    basis: str
    end_min: float
    notes: tuple[str, ...] = ()


def _f(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def _minutes(start: datetime, at: datetime) -> float:
    return (at.timestamp() - start.timestamp()) / 60.0


def weight_kg(s: TreatmentSession, measurements: Sequence[BodyMeasurement] | None = None) -> float | None:
    """The session's weight: the verifier's, else today's from the pre-checks, else the patient's latest final
    weight (before the dose's start, once it has started). ``measurements``: the patient's final weights, newest
    first, when already loaded (the chart); otherwise read here."""
    for w in (s.verified_weight_kg, s.weight_kg):
        if w:
            return float(w)
    before = s.dose_started_at
    if measurements is None:
        rows = BodyMeasurement.objects.filter(patient_id=s.patient_id, status=BodyMeasurement.Status.FINAL,
                                              weight_kg__isnull=False)
        if before is not None:
            rows = rows.filter(measured_at__lt=before)
        return _f(rows.order_by("-measured_at").values_list("weight_kg", flat=True).first())
    return next((float(m.weight_kg) for m in measurements if before is None or m.measured_at < before), None)


# ------------------------------------------------------------------------------------ the session's doses
def dosing_of(s: TreatmentSession, events: Iterable[SessionEvent] | None = None, *, weight: float | None = None,
              limits: dict | None = None, now: datetime | None = None) -> Dosing:
    """The session's doses as a :class:`pk.Regimen`: from the recorded dosing events once the dose has started,
    else from the planned dose. Raises :class:`Unpredictable` with the reason when there is none to draw."""
    now = now or timezone.now()
    limits = limits if limits is not None else s.patient.clinic.limits()
    if s.route not in Route.values:
        raise Unpredictable(f"No predicted curve: the route {s.route!r} is not one the simulator knows.")
    if s.dose_started_at is not None:
        evs = sorted(s.events.all() if events is None else events, key=lambda e: (e.at, e.pk or 0))
        return _recorded(s, evs, limits, now)
    return _planned(s, weight, limits, now)


def _recorded(s: TreatmentSession, events: list[SessionEvent], limits: dict, now: datetime) -> Dosing:
    start = s.dose_started_at
    if s.administered_mg is not None and s.administered_mg <= 0:
        raise Unpredictable("No predicted curve: no drug was given (0 mg recorded).")
    if s.route == Route.IM:
        mg = _f(s.administered_mg or s.prepared_dose_mg)
        if not mg:
            raise Unpredictable("No predicted curve: the injection's dose is not recorded.")
        return Dosing(pk.Regimen([pk.Absorbed(0.0, mg, "im")]), start, "the injection recorded", 0.0)
    if s.route == Route.INTRANASAL:
        return _devices_recorded(s, events, limits, now)
    return _infusion_recorded(s, events, now)


def _devices_recorded(s: TreatmentSession, events: list[SessionEvent], limits: dict, now: datetime) -> Dosing:
    start = s.dose_started_at
    times = [_minutes(start, e.at) for e in events if e.kind == SessionEvent.Kind.DEVICE]
    if not times:
        raise Unpredictable("No predicted curve: no esketamine device is recorded yet.")
    notes: list[str] = []
    planned = int(s.devices or 0)
    if s.dose_ended_at is None and len(times) < planned:
        gap = float(limits["dosing.esketamine_device_interval_minutes"])
        nxt = max(times[-1] + gap, _minutes(start, now))
        more = [nxt + gap * i for i in range(planned - len(times))]
        notes.append(f"{len(more)} more device{'s' if len(more) > 1 else ''} of {ESKETAMINE_DEVICE_MG} mg assumed "
                     f"{gap:g} min apart from {timezone.localtime(start + timedelta(minutes=more[0]), s.patient.clinic.tz):%H:%M} "
                     "(not yet given).")
        times += more
    doses = [pk.Absorbed(t, float(ESKETAMINE_DEVICE_MG), "intranasal") for t in times]
    end = times[-1] if s.dose_ended_at is None else _minutes(start, s.dose_ended_at)
    return Dosing(pk.Regimen(doses), start, "the devices recorded", end, tuple(notes))


def _infusion_recorded(s: TreatmentSession, events: list[SessionEvent], now: datetime) -> Dosing:
    """The pump's running segments (:func:`ketaclinic.clinical.dosing.pump_segments`, as ``infused_dose`` counts
    them), from the prepared volume over the planned minutes (else the rate programmed); the bag's concentration is
    the dose over the drug and diluent's volume; the pump stops when the bag is empty. While it still runs, it is assumed to run on at its rate until the bag is empty."""
    start, end = s.dose_started_at, s.dose_ended_at
    volume_total = _f((s.bag_volume_mL or Decimal(0)) + (s.prepared_volume_mL or Decimal(0)))
    mg_total = _f(s.prepared_dose_mg)
    rate = (volume_total * 60 / s.infusion_minutes if s.infusion_minutes and volume_total else _f(s.rate_mL_per_h))
    if not volume_total or not mg_total or not rate:
        return _infusion_given(s)
    conc = mg_total / volume_total  # mg/mL
    pump, running = pump_segments(start=start, stop=end or now, start_rate_mL_per_h=rate,
                                  events=[(e.kind, e.at, e.rate_mL_per_h) for e in events])
    tail: list[tuple[float, float, float]] = []
    if running and end is None:  # still running: assumed to run on at its rate (until the bag is empty, below)
        a, _, r = pump.pop()
        rate = float(r)
        tail = [(_minutes(start, a), math.inf, rate)]
    segments = [(_minutes(start, a), _minutes(start, b), float(r)) for a, b, r in pump if b > a] + tail
    notes: list[str] = []
    if not running and end is None:
        notes.append("The infusion is paused: the curve shows only what has run so far.")
    doses, volume = [], 0.0
    for a, b, r in segments:  # the pump stops when the bag is empty
        left = volume_total - volume
        if left <= 1e-9:
            break
        b = min(b, a + left * 60 / r)
        volume += r * (b - a) / 60
        doses.append((a, b, r / 60 * conc))
    if not doses and end is not None and s.administered_mg:
        # stopped the moment it started, with a dose recorded: given at the start as far as the events can tell
        return Dosing(pk.Regimen([pk.Bolus(0.0, float(s.administered_mg))]), start, "the pump's recorded events",
                      0.0, (f"The {float(s.administered_mg):g} mg recorded is drawn as given at the start (the "
                            "events record no running time).",))
    if not doses:
        raise Unpredictable("No predicted curve: the pump has not run yet.")
    if end is None and running:
        notes.append(f"The pump is assumed to run on at {round(rate, 1):g} mL/h until the bag is empty "
                     f"({timezone.localtime(start + timedelta(minutes=doses[-1][1]), s.patient.clinic.tz):%H:%M}).")
    given = sum((b - a) * mg for a, b, mg in doses)
    scale = 1.0
    if end is not None and s.administered_mg is not None and abs(float(s.administered_mg) - given) > 0.01:
        # the nurse recorded a different dose (e.g. the pump's own reading): the recorded dose, over the same times
        scale = float(s.administered_mg) / given
        notes.append(f"Scaled to the {float(s.administered_mg):g} mg recorded (the events give {given:.2f} mg).")
    regimen = pk.Regimen([pk.Infusion(a, b, mg * scale) for a, b, mg in doses])
    return Dosing(regimen, start, "the pump's recorded events", doses[-1][1], tuple(notes))


def _infusion_given(s: TreatmentSession) -> Dosing:
    """An infusion whose bag and pump rate were not recorded (a session entered from a paper record, or the
    synthetic demo history), but whose dose given and start and end were: the dose drawn as run evenly over that
    time, and said so. Without those three, no curve."""
    start, end, mg = s.dose_started_at, s.dose_ended_at, s.administered_mg
    if end is None or not mg or end <= start:
        raise Unpredictable("No predicted curve: the infusion's prepared dose, volume or rate is not recorded.")
    minutes = _minutes(start, end)
    tz = s.patient.clinic.tz
    note = (f"The bag and the pump's rate are not recorded: the {float(mg):g} mg given is drawn as run evenly from "
            f"{timezone.localtime(start, tz):%H:%M} to {timezone.localtime(end, tz):%H:%M}.")
    return Dosing(pk.Regimen([pk.Infusion(0.0, minutes, float(mg) / minutes)]), start,
                  "the dose given over the recorded start and end", minutes, (note,))


def _planned(s: TreatmentSession, weight: float | None, limits: dict, now: datetime) -> Dosing:
    origin = s.scheduled_start if s.scheduled_start > now else now.replace(second=0, microsecond=0)
    order = s.order
    if s.prepared_dose_mg:
        mg, basis = float(s.prepared_dose_mg), "the prepared dose"
    else:
        decision = s.dose_decisions.order_by("-signed_at", "-pk").first()
        per = decision.dose if decision is not None else (
            order.fixed_dose_mg if s.route == Route.INTRANASAL else order.dose_mg_per_kg)
        basis = "the dose signed for this session" if decision is not None else "the ordered dose"
        if per is None and order.fixed_dose_mg and s.route != Route.INTRANASAL:
            mg = float(order.fixed_dose_mg)
        elif per is None:
            raise Unpredictable("No predicted curve: the order gives no dose.")
        elif s.route == Route.INTRANASAL:
            mg = float(per)
        else:
            if weight is None:
                raise Unpredictable(NO_WEIGHT)
            mg = float(per) * weight
    if s.route == Route.IM:
        return Dosing(pk.Regimen([pk.Absorbed(0.0, mg, "im")]), origin, basis, 0.0)
    if s.route == Route.INTRANASAL:
        devices = int(s.devices or 0) or max(1, round(mg / ESKETAMINE_DEVICE_MG))
        gap = float(limits["dosing.esketamine_device_interval_minutes"])
        doses = [pk.Absorbed(gap * i, float(ESKETAMINE_DEVICE_MG), "intranasal") for i in range(devices)]
        return Dosing(pk.Regimen(doses), origin, basis, gap * (devices - 1),
                      (f"{devices} device{'s' if devices > 1 else ''} of {ESKETAMINE_DEVICE_MG} mg, {gap:g} min apart.",))
    minutes = s.infusion_minutes or order.infusion_minutes
    notes = []
    if not minutes:
        minutes = int(limits["dosing.iv_default_minutes"])
        notes.append(f"Over the clinic's standard {minutes} min (the order gives no infusion time).")
    return Dosing(pk.Regimen([pk.Infusion.of_dose(mg, 0.0, float(minutes))]), origin, basis, float(minutes),
                  (f"{mg:.1f} mg over {minutes} min.", *notes))


# ------------------------------------------------------------------------------------ the prediction
@dataclass(frozen=True)
class Curve:
    key: str
    name: str
    source: str
    status: str
    levels: list[float]
    below_min: float | None  # minutes from the origin; None: never at or above the level
    in_use: bool = False


@dataclass(frozen=True)
class IMAbsorption:
    """The clinic's IM absorption (unconfirmed settings, pk-models.md §1.4, U): bioavailability and the ends of the
    Tmax range (min)."""

    bioavailability: float
    tmax_min: tuple[float, ...]

    @classmethod
    def of(cls, limits: dict) -> IMAbsorption:
        ends = sorted({float(limits["pk.im_tmax_min_low"]), float(limits["pk.im_tmax_min_high"])})
        return cls(float(limits["pk.im_bioavailability"]), tuple(ends))

    @property
    def words(self) -> str:
        ends = "–".join(f"{t:g}" for t in self.tmax_min)
        return f"F {self.bioavailability:g}, Tmax {ends} min"

    def variants(self, key: str, regimen: pk.Regimen, weight: float, age: float,
                 ) -> list[tuple[str, pk.Regimen, pk.Absorption]]:
        """(name suffix, regimen with the absorption, absorption) for each end of the Tmax range."""
        out = []
        for t in self.tmax_min:
            a = pk.im_absorption(key, weight, age, t, self.bioavailability)
            out.append((f", IM Tmax {t:g} min", pk.with_absorption(regimen, a), a))
        return out


@dataclass(frozen=True)
class SessionPrediction:
    """What the cockpit's panel draws, or ``message`` (a sentence) when there is no curve."""

    message: str = ""
    drug: str = ""
    output: str = ""
    basis: str = ""
    notes: tuple[str, ...] = ()
    origin: datetime | None = None
    started: bool = False
    weight_kg: float | None = None
    age_years: int | None = None
    times_min: list[float] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    skipped: tuple[str, ...] = ()
    band: list[list[float]] | None = None  # the percentiles' levels, BAND_PERCENTILES
    band_below_min: tuple[float, float] | None = None  # 5th and 95th percentile of the time below
    band_note: str = ""
    threshold: float = 0.0
    threshold_status: str = ""  # "a clinic setting, unconfirmed" unless the setting has a confirmed source
    now_min: float | None = None
    end_min: float = 0.0
    in_use_name: str = ""  # the model in use, as the panel names it
    advice_min: float | None = None  # the time below the level the advice gives (None: never at or above it)
    advice_basis: str = ""  # whose time it is, in words
    absorption_note: str = ""  # an IM injection: the unconfirmed absorption, in words
    label: str = LABEL

    @property
    def ok(self) -> bool:
        return not self.message

    @property
    def in_use(self) -> Curve:
        return next(c for c in self.curves if c.in_use)

    def at(self, minutes: float | None) -> datetime | None:
        return None if minutes is None or self.origin is None else self.origin + timedelta(minutes=minutes)

    @property
    def below_at(self) -> datetime | None:
        return self.at(self.advice_min)

    @property
    def in_use_curves(self) -> list[Curve]:
        return [c for c in self.curves if c.in_use]

    @property
    def other_curves(self) -> list[Curve]:
        return [c for c in self.curves if not c.in_use]

    @property
    def below_range(self) -> tuple[datetime, datetime] | None:
        """The earliest and latest time below across the models (None with one model)."""
        mins = [c.below_min or 0.0 for c in self.curves]
        return (self.at(min(mins)), self.at(max(mins))) if len(mins) > 1 else None

    @property
    def band_range(self) -> tuple[datetime, datetime] | None:
        return None if self.band_below_min is None else (self.at(self.band_below_min[0]),
                                                          self.at(self.band_below_min[1]))


def model_in_use(route: str, limits: dict) -> str:
    """The clinic's racemic model (``pk.iv_model``) for IV and IM, Perez-Ruixo for esketamine."""
    return "perez-ruixo" if route == Route.INTRANASAL else str(limits["pk.iv_model"])


def _percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def predict(s: TreatmentSession, events: Iterable[SessionEvent] | None = None, *, now: datetime | None = None,
            band: bool = True) -> SessionPrediction:
    """The session's predicted level under every published model for its route, the band of the model in use
    (where it publishes variability) and the time each falls below the clinic's level. Never raises for bad data:
    a session without a weight, a route no model covers or a patient outside every model's population gets a
    ``message``."""
    now = now or timezone.now()
    patient: Patient = s.patient
    clinic = patient.clinic
    limits = clinic.limits()
    if s.dose_started_at is None and s.status in CLOSED:
        return SessionPrediction(message=f"No predicted curve: no dose was given ({s.get_status_display().lower()}).")
    if s.route not in ROUTE_MODELS:
        return SessionPrediction(message=f"No predicted curve: no published model covers the route {s.route!r}.")
    weight = weight_kg(s)
    try:
        dosing = dosing_of(s, events, weight=weight, limits=limits, now=now)
    except Unpredictable as e:
        return SessionPrediction(message=str(e))
    except pk.PKInputError as e:
        return SessionPrediction(message=f"No predicted curve: {e}")
    if weight is None:
        return SessionPrediction(message=NO_WEIGHT)
    age = patient.age_on(timezone.localtime(dosing.origin, clinic.tz).date())
    output, drug, level_key = OUTPUT[s.route]
    threshold = float(limits[level_key])
    in_use = model_in_use(s.route, limits)
    patients = pk.Patients.of(weight, age)
    now_min = _minutes(dosing.origin, now) if s.dose_started_at else None
    im = IMAbsorption.of(limits) if s.route == Route.IM else None
    # (key, name, source, status, regimen) of each curve: one per model, or per model and end of the Tmax range (IM)
    drawn: list[tuple[str, str, str, str, pk.Regimen, float | None]] = []
    skipped: list[str] = []
    solved: dict[str, float] = {}  # IM: each curve's solved absorption rate (1/min)
    for key in ROUTE_MODELS[s.route]:
        m = pk.get_model(key)
        try:
            if im is None:
                variants = [("", dosing.regimen, m.citation, m.status)]
            else:
                variants = []
                for suffix, regimen, a in im.variants(key, dosing.regimen, weight, age):
                    variants.append((suffix, regimen, f"{m.citation}; IM absorption ka {a.ka_per_min:.4g}/min, "
                                     f"F {a.bioavailability:g}, no lag, solved for the Tmax (pk-models.md §1.4, U; "
                                     "clinic settings)", "U"))
                    solved[m.name + suffix] = a.ka_per_min
            for suffix, regimen, source, status in variants:
                tb = pk.time_below(key, regimen, patients, threshold, output=output)
                drawn.append((key, m.name + suffix, source, status, regimen, _nan_to_none(float(tb.minutes[0]))))
        except pk.PKInputError as e:
            if key == in_use:
                return SessionPrediction(message=f"No predicted curve: {e}")
            skipped.append(f"{m.name}: {e}")
            drawn = [d for d in drawn if d[0] != key]
    horizon = max(dosing.end_min + 180, (now_min or 0) + 60, *(d[5] + 30 for d in drawn if d[5]))
    horizon = min(720.0, max(240.0, math.ceil(horizon / 30) * 30))
    step = 1.0 if horizon <= 360 else 2.0
    times = [i * step for i in range(int(horizon / step) + 1)]
    curves = []
    for key, name, source, status, regimen, below in drawn:
        pred = pk.simulate(key, regimen, patients, times)
        curves.append(Curve(key, name, source, status, pred.concentrations[output][0].tolist(), below,
                            key == in_use))
    curves.sort(key=lambda c: not c.in_use)  # the model in use first, then the route's order (stable)
    bands, band_below, band_note = None, None, ""
    model = pk.get_model(in_use)
    if im is not None:
        band_note = NO_IM_BAND
    elif not model.variability:
        band_note = f"The {model.name} model publishes no inter-individual variability, so it has no population band."
    elif band:
        b = pk.monte_carlo(model, dosing.regimen, weight, age, times, n=BAND_PATIENTS, seed=BAND_SEED,
                           percentiles=BAND_PERCENTILES)
        bands = [row.tolist() for row in b.bands[output]]
        etas = pk.sample_etas(model, BAND_PATIENTS, BAND_SEED)
        many = pk.Patients.of([weight] * BAND_PATIENTS, [age] * BAND_PATIENTS)
        mins = [0.0 if math.isnan(x) else x for x in pk.time_below(model, dosing.regimen, many, threshold,
                                                                     output=output, etas=etas).minutes.tolist()]
        band_below = (_percentile(mins, 5), _percentile(mins, 95))
        band_note = (f"the 5th to 95th percentile of {BAND_PATIENTS} virtual patients with the {model.name} "
                     "model's published inter-individual variability.")
    notes = dosing.notes
    if s.route == Route.INTRANASAL:
        notes += ("The model's Asian and Japanese covariates are not applied (the chart records neither).",)
    if im is None:
        advice_min, advice_basis = next(c for c in curves if c.in_use).below_min, model.name
        absorption_note = ""
    else:  # the absorption is unconfirmed: the latest of every model and end of the Tmax range (conservative)
        belows = [c.below_min for c in curves if c.below_min is not None]
        advice_min = max(belows) if belows else None
        advice_basis = ("the latest of every model and both ends of the Tmax range, as the IM absorption is "
                        "unconfirmed")
        rates = "; ".join(f"{c.name}: ka {solved[c.name]:.4g}/min" for c in curves)
        absorption_note = f"{pk.IM_NOTE} Clinic settings now: {im.words}. Solved absorption rates: {rates}."
    return SessionPrediction(drug=drug, output=output, basis=dosing.basis, notes=notes, origin=dosing.origin,
                             started=s.dose_started_at is not None, weight_kg=weight, age_years=age,
                             times_min=times, curves=curves, skipped=tuple(skipped), band=bands,
                             band_below_min=band_below, band_note=band_note, threshold=threshold,
                             threshold_status=("a clinic setting" if clinical_settings.spec(level_key).confirmed
                                               else "a clinic setting, unconfirmed: no published level"),
                             now_min=now_min,
                             end_min=dosing.end_min, in_use_name=model.name, advice_min=advice_min,
                             advice_basis=advice_basis, absorption_note=absorption_note)


# ------------------------------------------------------------------------------------ the drawing
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 48, 12, 12, 28


def _nice(top: float, parts: int = 4) -> float:
    """A round axis maximum at or above ``top`` whose ``parts`` gridlines fall on round numbers."""
    if top <= 0:
        return float(parts)
    step = top / parts
    mag = 10 ** math.floor(math.log10(step))
    return parts * next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step)


def plot(p: SessionPrediction, tz=None) -> dict:
    """The panel's SVG geometry (server-drawn, no script): one polyline per model, the spread between them as an
    area, the band as an area, the clinic's level as a line, a marker for now, axes in clock time and ng/mL."""
    tmax = p.times_min[-1]
    highs = [max(c.levels) for c in p.curves] + ([max(p.band[-1])] if p.band else []) + [p.threshold]
    ymax = _nice(max(highs) * 1.05)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + pw * t / tmax, 1)

    def y(c: float) -> float:
        return round(TOP + ph * (1 - min(c, ymax) / ymax), 1)

    def line(levels: list[float]) -> str:
        return " ".join(f"{x(t)},{y(c)}" for t, c in zip(p.times_min, levels, strict=True))

    def area(low: list[float], high: list[float]) -> str:
        return line(high) + " " + " ".join(f"{x(t)},{y(c)}" for t, c in
                                           zip(reversed(p.times_min), reversed(low), strict=True))

    lows = [min(v) for v in zip(*(c.levels for c in p.curves), strict=True)]
    highs_t = [max(v) for v in zip(*(c.levels for c in p.curves), strict=True)]
    tz = tz or timezone.get_current_timezone()
    tick = 30 if tmax <= 360 else 60
    local = timezone.localtime(p.origin, tz)
    first = (tick - (local.minute % tick) - local.second / 60) % tick  # the first whole half hour or hour
    xticks = [{"x": x(first + i * tick),
               "label": f"{timezone.localtime(p.origin + timedelta(minutes=first + i * tick), tz):%H:%M}"}
              for i in range(int((tmax - first) // tick) + 1)]
    yticks = [{"y": y(ymax * i / 4), "label": f"{ymax * i / 4:g}"} for i in range(5)]
    return {
        "width": W, "height": H, "left": LEFT, "right": W - RIGHT, "top": TOP, "bottom": H - BOTTOM,
        "lines": [{"name": c.name, "points": line(c.levels), "in_use": c.in_use} for c in p.curves],
        "spread": area(lows, highs_t) if len(p.curves) > 1 else "",
        "band": area(p.band[0], p.band[-1]) if p.band else "",
        "threshold_y": y(p.threshold),
        "now_x": x(p.now_min) if p.now_min is not None and 0 <= p.now_min <= tmax else None,
        "end_x": x(p.end_min) if 0 < p.end_min <= tmax else None,
        "xticks": xticks, "yticks": yticks, "ymax": ymax,
    }


# ------------------------------------------------------------------------------------ the chart
@dataclass(frozen=True)
class Exposure:
    """One past session's predicted exposure under the model in use: peak (ng/mL) and AUC over
    :data:`AUC_MINUTES` (ng·h/mL), or ``message`` when there is none."""

    model: str = ""
    drug: str = ""
    peak_ng_per_mL: float | None = None
    auc_ng_h_per_mL: float | None = None
    message: str = ""
    label: str = LABEL


def exposures(patient: Patient, sessions: Sequence[TreatmentSession]) -> dict[int, Exposure]:
    """The predicted exposure of each of ``sessions`` whose dosing has ended, keyed by session pk and set on each
    session as ``predicted_exposure`` (None when not dosed), in a fixed number of queries: the sessions' dosing
    events in one, the patient's weights in one (only when a session has no weight of its own)."""
    for s in sessions:
        s.predicted_exposure = None
    dosed = [s for s in sessions if s.dose_started_at is not None and s.dose_ended_at is not None]
    if not dosed:
        return {}
    by_session: dict[int, list[SessionEvent]] = defaultdict(list)
    for e in SessionEvent.objects.filter(session__in=[s.pk for s in dosed]).order_by("at", "pk"):
        by_session[e.session_id].append(e)
    measurements = None
    if any(not (s.verified_weight_kg or s.weight_kg) for s in dosed):
        measurements = list(BodyMeasurement.objects.filter(patient=patient, status=BodyMeasurement.Status.FINAL,
                                                           weight_kg__isnull=False).order_by("-measured_at"))
    limits = patient.clinic.limits()
    out = {}
    for s in dosed:
        s.patient = patient  # already loaded: no query per session
        out[s.pk] = s.predicted_exposure = _exposure(s, by_session[s.pk], weight_kg(s, measurements or []), limits)
    return out


def _exposure(s: TreatmentSession, events: list[SessionEvent], weight: float | None, limits: dict) -> Exposure:
    if s.route not in ROUTE_MODELS:
        return Exposure(message="no model for this route")
    if weight is None:
        return Exposure(message="no weight recorded")
    output, drug, _ = OUTPUT[s.route]
    model = pk.get_model(model_in_use(s.route, limits))
    try:
        dosing = dosing_of(s, events, weight=weight, limits=limits)
        age = s.patient.age_on(timezone.localtime(dosing.origin, s.patient.clinic.tz).date())
        times = [float(t) for t in range(AUC_MINUTES + 1)]
        name, regimens = model.name, [dosing.regimen]
        if s.route == Route.IM:  # each end of the (unconfirmed) Tmax range; the higher peak and AUC are shown
            im = IMAbsorption.of(limits)
            regimens = [r for _, r, _ in im.variants(model.key, dosing.regimen, weight, age)]
            name = (f"{model.name} with an unconfirmed IM absorption ({im.words}; pk-models.md §1.4, U; "
                    "clinic settings), the higher of the Tmax range")
        runs = [pk.simulate(model, r, pk.Patients.of(weight, age), times).concentrations[output][0].tolist()
                for r in regimens]
    except Unpredictable as e:
        return Exposure(model=model.name, drug=drug, message=str(e).removeprefix("No predicted curve: "))
    except pk.PKInputError as e:
        return Exposure(model=model.name, drug=drug, message=str(e))
    # 1-min steps, ng·h/mL
    aucs = [sum((a + b) / 2 for a, b in zip(v, v[1:], strict=False)) / 60 for v in runs]
    return Exposure(model=name, drug=drug, peak_ng_per_mL=max(max(v) for v in runs), auc_ng_h_per_mL=max(aucs))
