"""The complete record of one treatment session, gathered once and laid out once for both the print view and the
PDF (``session_record_views.py``, ``session_record_pdf.py``): the same sections, rows and tables, in the same
words, so the paper copy says what the screen says.

It reads treatments (the session and its own records), custody (the session's controlled-substance ledger
entries and pending wastes) and patients (the weight history), so it lives in the top layer. :func:`gather`
reads everything in a fixed number of queries, whatever the number of vitals readings, events or ledger entries;
:func:`build` turns it into plain sections (no database access, no HTML), and :func:`vitals_chart` the vitals
chart as coordinates both renderers draw (SVG lines in the page, fpdf2 lines in the PDF).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from ketaclinic import loading
from ketaclinic.accounts.models import User
from ketaclinic.clinical.scales import SCALES
from ketaclinic.custody.models import Attestation, LedgerEntry, PendingEvent
from ketaclinic.patients.models import BodyMeasurement
from ketaclinic.treatments.models import (
    Addendum,
    AdverseEvent,
    Observation,
    PredoseOverride,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentSession,
    VitalsReading,
)

#: Everything the record names on the session row itself, read with the session in one query.
SESSION_RELATED = (
    "patient", "patient__clinic", "order", "order__signed_by", "room", "chair", "prepared_by", "verified_by",
    "administered_by", "predose_override_by", "discharged_by", "nurse_signed_by", "prescriber_signed_by",
    "weight_recorded_by", "weight_confirmed_by", "pump_pause_confirmed_by", "consent", "consent__document",
    "consent__witnessed_by",
)

DASH = "—"
ZERO = Decimal("0.00")


# ============================================================================================ gathering
@dataclass
class Gathered:
    """The session and every record of it, read from the database (see :func:`gather`)."""

    session: TreatmentSession
    vitals: list[VitalsReading]
    events: list[SessionEvent]
    adverse_events: list[AdverseEvent]
    ratings: list[SessionRating]
    observations: list[Observation]
    addenda: list[Addendum]
    overrides: list[PredoseOverride]
    ledger: list[LedgerEntry]
    pending_wastes: list[PendingEvent]
    prior_weight: BodyMeasurement | None
    rems: RemsForm | None


#: What is joined to the session row, and the people it names, read after in one query by id
#: (:mod:`ketaclinic.loading`: the whole 20-table join took 11 ms to plan on PostgreSQL, under 2 ms to run).
JOINED, PEOPLE = loading.split(TreatmentSession, SESSION_RELATED, apart=User)


def session_queryset():
    """The sessions with the records they name joined; call :func:`with_people` on what it returns."""
    return TreatmentSession.objects.select_related(*JOINED)


def with_people(session: TreatmentSession) -> TreatmentSession:
    """``session`` (read with :func:`session_queryset`) with every person it names loaded, in one query."""
    loading.attach([session], PEOPLE)
    return session


def gather(session: TreatmentSession) -> Gathered:
    """Every record of ``session`` (read with :func:`session_queryset`): eleven queries for an IV or IM session,
    one more for esketamine (its REMS form) and one more for the witnesses when a waste is still awaiting them,
    however many readings, events and ledger entries it has."""
    s = session
    ledger = list(LedgerEntry.objects.filter(session=s)
                  .select_related("container__lot__product", "actor", "witness", "witness2", "reverses")
                  .order_by("seq"))
    pending = list(PendingEvent.objects.filter(session=s, kind=PendingEvent.Kind.WASTE)
                   .exclude(status=PendingEvent.Status.POSTED).select_related("requested_by")
                   .prefetch_related(Prefetch("attestations", Attestation.objects.select_related("witness")
                                              .order_by("at", "pk")))
                   .order_by("requested_at", "pk"))
    before = s.prepared_at or s.dose_started_at or s.scheduled_start
    prior = (BodyMeasurement.objects.filter(patient_id=s.patient_id, status=BodyMeasurement.Status.FINAL,
                                            weight_kg__isnull=False, measured_at__lte=before)
             .order_by("-measured_at", "-pk").first())
    return Gathered(
        session=s,
        vitals=list(s.vitals.select_related("recorded_by").order_by("taken_at", "pk")),
        events=list(s.events.select_related("by", "reading").order_by("at", "pk")),
        adverse_events=list(s.adverse_events.select_related("recorded_by").order_by("onset_at", "pk")),
        ratings=list(s.ratings.select_related("recorded_by").order_by("at", "pk")),
        observations=list(s.observations.select_related("recorded_by").order_by("at", "pk")),
        addenda=list(s.addenda.select_related("by").order_by("at", "pk")),
        overrides=list(s.predose_overrides.select_related("by", "reading").order_by("at", "pk")),
        ledger=ledger,
        pending_wastes=pending,
        prior_weight=prior,
        rems=RemsForm.objects.filter(session=s).first() if s.route == Route.INTRANASAL else None,
    )


# ============================================================================================ the layout
@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    empty: str = "None recorded."
    caption: str = ""
    #: The last column is free text of any length (an observation, a reason, an addendum): the PDF prints each row
    #: as a line of the other columns and the text under it, so a long text runs on over pages.
    free_text_last: bool = False


@dataclass
class Section:
    key: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sentences shown under the rows
    warnings: list[str] = field(default_factory=list)  # sentences a reader must not miss


@dataclass
class Record:
    title: str
    status: str  # "signed", "nurse-signed", "draft"
    status_line: str
    clinic_name: str
    clinic_line: str
    patient_line: str
    sections: list[Section]
    signatures: Section
    addenda: Section
    chart: Chart | None
    filename: str

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    def section(self, key: str) -> Section:
        return next(s for s in [*self.sections, self.signatures, self.addenda] if s.key == key)


def _who(user) -> str:
    return user.label if user is not None else DASH


def _num(value, unit: str = "") -> str:
    """A decimal as the cockpit writes it (trailing zeros dropped), with its unit."""
    if value in (None, ""):
        return DASH
    return f"{Decimal(str(value)).normalize():f} {unit}".strip()


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


class _Clock:
    """Times in the clinic's time zone, in one style: a time on the session's own day is written as HH:MM, any
    other moment (a waste witnessed after midnight, a late addendum) with its date."""

    def __init__(self, tz, day=None) -> None:
        self.tz = tz
        self.day = day

    def local(self, moment: datetime) -> datetime:
        return timezone.localtime(moment, self.tz)

    def at(self, moment: datetime | None) -> str:
        return f"{self.local(moment):%Y-%m-%d %H:%M}" if moment else DASH

    def time(self, moment: datetime | None, seconds: bool = False) -> str:
        if not moment:
            return DASH
        local = self.local(moment)
        text = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
        return text if self.day is None or local.date() == self.day else f"{local:%Y-%m-%d} {text}"

    def date(self, moment: datetime | None) -> str:
        return f"{self.local(moment):%Y-%m-%d}" if moment else DASH


def signature_status(s: TreatmentSession) -> tuple[str, str]:
    """("draft" | "nurse-signed" | "signed", the sentence the record prints at its top)."""
    if s.nurse_signed_at and s.prescriber_signed_at:
        return "signed", "SIGNED: by the nurse and co-signed by the prescriber. Corrections are addenda."
    if s.nurse_signed_at:
        return "nurse-signed", ("SIGNED by the nurse; the prescriber's co-signature is pending. Corrections are "
                                "addenda.")
    return "draft", "DRAFT: this note is not signed. It may still change."


def build(g: Gathered) -> Record:
    """The record's sections from what :func:`gather` read (no database access)."""
    s, p = g.session, g.session.patient
    clinic = p.clinic
    c = _Clock(clinic.tz)
    c.day = c.local(s.dose_started_at or s.checked_in_at or s.scheduled_start).date()
    status, status_line = signature_status(s)
    order = s.order
    sections = [
        _session_section(s, c),
        _order_section(s, order, c),
        _consent_section(s, c),
        _prechecks_section(s, g, c),
        _weight_section(s, g, c),
        _dose_section(s, c),
        _drug_account_section(g, c),
        _dosing_section(s, g, c),
        _vitals_section(g, c),
        _adverse_section(g, c),
        _ratings_section(g, c),
        _observations_section(g, c),
    ]
    if g.rems is not None:
        sections.append(_rems_section(g.rems, c))
    sections.append(_discharge_section(s, c))
    day = c.local(s.dose_started_at or s.checked_in_at or s.scheduled_start)
    return Record(
        title=f"Session record: {s.get_drug_display()}, {s.get_route_display().lower()}",
        status=status, status_line=status_line, clinic_name=clinic.name,
        clinic_line=" · ".join(x for x in (clinic.address, f"Tel {clinic.phone}" if clinic.phone else "") if x),
        patient_line=f"{p.legal_name} · DOB {p.date_of_birth:%Y-%m-%d} · MRN {p.mrn} · {day:%Y-%m-%d}",
        sections=sections, signatures=_signatures_section(s, c), addenda=_addenda_section(g, c),
        chart=vitals_chart(g.vitals, clinic.tz),
        filename=f"session-record-{p.mrn}-{day:%Y%m%d}-{s.sequence}.pdf",
    )


def _session_section(s, c: _Clock) -> Section:
    p = s.patient
    clinic = p.clinic
    place = " ".join(x for x in (s.room.name if s.room_id else "", s.chair.label if s.chair_id else "") if x)
    return Section("session", "Patient and session", rows=[
        ("Patient", p.legal_name + (f" (preferred: {p.preferred_name})" if p.preferred_name
                                    and p.preferred_name != p.legal_given_name else "")),
        ("Date of birth", f"{p.date_of_birth:%Y-%m-%d}"),
        ("MRN", p.mrn),
        ("Allergies", p.allergies or "not recorded"),
        ("Clinic", f"{clinic.name}, {clinic.address}".strip(", ")),
        ("Time zone", str(clinic.tz)),
        ("Treatment", f"{s.get_drug_display()}, {s.get_route_display().lower()}; session {s.sequence} of "
                      f"{s.order.sessions_planned}"),
        ("Booked for", f"{c.at(s.scheduled_start)} ({s.scheduled_minutes} min)" + (f", {place}" if place else "")),
        ("Checked in", c.at(s.checked_in_at)),
        ("Status", s.get_status_display()),
    ])


def _order_section(s, order, c: _Clock) -> Section:
    if order.dose_mg_per_kg is not None:
        dose = _num(order.dose_mg_per_kg, "mg/kg")
    elif order.fixed_dose_mg is not None:
        dose = _num(order.fixed_dose_mg, "mg")
    else:
        dose = DASH
    rows = [
        ("Drug and route", f"{order.get_drug_display()}, {order.get_route_display().lower()}"),
        ("Dose ordered", dose + (f" over {order.infusion_minutes} min" if order.infusion_minutes else "")),
        ("Prescriber", f"{_who(order.signed_by)}, signed {c.at(order.signed_at)}" if order.signed_by_id
         else "Order not signed"),
        ("Series", f"{order.sessions_planned} sessions, {order.sessions_per_week} a week"),
    ]
    if order.dose_override_reason:
        rows.append(("Prescriber's dose override", order.dose_override_reason))
    return Section("order", "Order", rows=rows)


def _consent_section(s, c: _Clock) -> Section:
    if s.consent_id:
        sig = s.consent
        doc = sig.document
        rows = [("Consent document", f"{doc.title}, version {doc.version} (in force from {doc.effective_from:%Y-%m-%d})"),
                ("Signed by the patient", f"{sig.signer_name}, {c.at(sig.signed_at)}"),
                ("Witnessed by", _who(sig.witnessed_by))]
    elif s.consent_on_file:
        rows = [("Consent", "Consent on file (recorded before signed consent documents: no version was recorded "
                            "for this session)")]
    else:
        rows = [("Consent", "No signed consent recorded for this session")]
    return Section("consent", "Informed consent", rows=rows)


def _prechecks_section(s, g: Gathered, c: _Clock) -> Section:
    rows = [
        ("Identity checked (name and date of birth)", _yes(s.identity_confirmed)),
        ("Fasting confirmed", _yes(s.fasting_confirmed)),
        ("No driving until the next day acknowledged", _yes(s.no_driving_acknowledged)),
        ("Escort", f"{s.escort_name} {s.escort_phone}".strip() or "none recorded"),
    ]
    if s.pregnancy_test:
        rows.append(("Pregnancy test", s.get_pregnancy_test_display()))
    setting = ", ".join(x for x in (s.music, s.lighting, s.setting_notes) if x)
    rows.append(("Set and setting", setting or DASH))
    table = Table(["Time", "Override", "Reading", "By", "Reason"], [
        [c.time(o.at), o.get_kind_display(),
         f"{o.reading.bp} at {c.time(o.reading.taken_at)} ({o.reading.level_name.upper()})" if o.reading_id else DASH,
         _who(o.by), o.reason] for o in g.overrides], empty="No pre-dose override.", caption="Pre-dose overrides",
        free_text_last=True)
    return Section("prechecks", "Pre-checks", rows=rows, tables=[table])


def _weight_section(s, g: Gathered, c: _Clock) -> Section:
    if s.route == Route.INTRANASAL and s.weight_kg is None:
        return Section("weight", "Weight", rows=[("Weight used", "Not used: esketamine is a fixed dose")])
    rows = [("Weight used for the dose", _num(s.weight_kg, "kg")),
            ("Measured", f"at the session's pre-checks ({c.date(s.checked_in_at or s.scheduled_start)}), entered "
                         f"by {_who(s.weight_recorded_by)}" if s.weight_kg is not None else DASH)]
    if s.weight_confirmed_at:
        rows.append(("Confirmed by a second clinician", f"{_who(s.weight_confirmed_by)}, {c.at(s.weight_confirmed_at)}"))
    w = g.prior_weight
    rows.append(("Latest weight in the patient's history",
                 f"{_num(w.weight_kg, 'kg')}, measured {c.date(w.measured_at)}" if w else "none recorded"))
    return Section("weight", "Weight", rows=rows)


def _dose_section(s, c: _Clock) -> Section:
    if s.prepared_dose_mg is None:
        return Section("dose", "Dose working and verification", notes=["The dose has not been prepared."])
    rows = [("Dose prepared", _num(s.prepared_dose_mg, "mg") + (
        f" (calculated {_num(s.calculated_dose_mg, 'mg')}, measured in the syringe)"
        if s.calculated_dose_mg is not None and s.calculated_dose_mg != s.prepared_dose_mg else ""))]
    if s.dose_mg_per_kg is not None:
        rows.append(("Dose per kg", _num(s.dose_mg_per_kg, "mg/kg")))
    if s.concentration_mg_per_mL is not None:
        rows.append(("Strength", _num(s.concentration_mg_per_mL, "mg/mL")))
    if s.prepared_volume_mL is not None:
        rows.append(("Volume drawn", _num(s.prepared_volume_mL, "mL")))
    if s.bag_volume_mL is not None:
        rows.append(("Diluent bag", _num(s.bag_volume_mL, "mL")))
    if s.rate_mL_per_h is not None:
        rows.append(("Pump rate", _num(s.rate_mL_per_h, "mL/h") + (
            f" over {s.infusion_minutes} min" if s.infusion_minutes else "")))
    if s.devices:
        rows.append(("Devices", str(s.devices)))
    rows += [("Vial or device", s.vial_or_device or DASH), ("Lot", s.lot_number or DASH),
             ("Prepared by", f"{_who(s.prepared_by)}, {c.at(s.prepared_at)}")]
    if s.dose_override_reason:
        rows.append(("Prescriber's override", s.dose_override_reason))
    if s.verified_at:
        rows.append(("Independent verification", f"{_who(s.verified_by)}, {c.at(s.verified_at)}"))
        readings = [f"weight {_num(s.verified_weight_kg, 'kg')}" if s.verified_weight_kg is not None else "",
                    f"dose {_num(s.verified_dose_mg, 'mg')}" if s.verified_dose_mg is not None else "",
                    f"strength {_num(s.verified_concentration_mg_per_mL, 'mg/mL')}"
                    if s.verified_concentration_mg_per_mL is not None else "",
                    f"bag {_num(s.verified_bag_volume_mL, 'mL')}" if s.verified_bag_volume_mL is not None else ""]
        rows.append(("Verifier's own entries", ", ".join(x for x in readings if x) or DASH))
    else:
        rows.append(("Independent verification", "not verified"))
    notes = ["Working, as the clinical core calculated it:"] if s.dose_working else []
    notes += [f"{i}. {w}" for i, w in enumerate(s.dose_working or [], start=1)]
    return Section("dose", "Dose working and verification", rows=rows, notes=notes,
                   warnings=[str(w) for w in (s.dose_warnings or [])])


def _drug_account_section(g: Gathered, c: _Clock) -> Section:
    """The session's controlled-substance account from its ledger entries: each draw (container, lot), what was
    administered, wasted (with witnesses) and returned from it, and what is left unaccounted for."""
    entries = g.ledger
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    live = [e for e in entries if e.kind != LedgerEntry.Kind.REVERSAL and e.pk not in reversed_ids]
    unit = next((e.container.lot.product.unit for e in entries), "")
    rows_out = []
    for e in entries:
        lot = e.container.lot
        witnesses = ", ".join(_who(w) for w in (e.witness, e.witness2) if w is not None) or DASH
        what = e.get_kind_display()
        if e.kind == LedgerEntry.Kind.REVERSAL and e.reverses_id:
            what = f"Reversal of #{e.reverses.seq}"
        elif e.pk in reversed_ids:
            what += " (reversed)"
        rows_out.append([f"#{e.seq}", c.time(e.at), what, e.container.label,
                         f"{lot.lot_number} (exp {lot.expiry:%Y-%m-%d})", _num(e.quantity, unit),
                         _num(e.mg, "mg"), e.actor_label or _who(e.actor), witnesses])
    table = Table(["Entry", "Time", "Event", "Container", "Lot", "Quantity", "mg", "By", "Witnesses"], rows_out,
                  empty="Nothing drawn for this session in the controlled-substance ledger.",
                  caption="Ledger entries of this session")
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in live:
        totals[e.kind] += e.quantity
    drawn, given = totals[LedgerEntry.Kind.DRAW], totals[LedgerEntry.Kind.ADMINISTER]
    wasted, returned = totals[LedgerEntry.Kind.WASTE], totals[LedgerEntry.Kind.RETURN]
    balance = drawn - given - wasted - returned
    section = Section("drug_account", "Controlled-substance account", tables=[table])
    if entries:
        section.rows = [("Drawn", _num(drawn, unit)), ("Administered", _num(given, unit)),
                        ("Wasted (witnessed)", _num(wasted, unit)), ("Returned", _num(returned, unit)),
                        ("Balance (drawn − administered − wasted − returned)", _num(balance, unit))]
        if balance == 0:
            section.notes.append("The account balances: everything drawn is administered, wasted or returned.")
        else:
            section.warnings.append(f"The account does not balance: {_num(balance, unit)} drawn for this session "
                                    "is not recorded as administered, wasted or returned.")
    for ev in g.pending_wastes:
        signed = [f"{_who(a.witness)} {c.time(a.at)}" for a in ev.attestations.all()]
        state = ev.get_status_display().lower()
        section.warnings.append(
            f"Waste of {_num(ev.quantity, unit)} recorded by {_who(ev.requested_by)} at {c.time(ev.requested_at)} "
            f"({ev.method}): {state}; witnesses {len(signed)} of {ev.witnesses_required}"
            + (f" ({', '.join(signed)})" if signed else "") + ".")
    return section


def _dosing_section(s, g: Gathered, c: _Clock) -> Section:
    rows = [("Dose started", c.at(s.dose_started_at)), ("Dose ended", c.at(s.dose_ended_at)),
            ("Dose given", _num(s.administered_mg, "mg") + (f", by {_who(s.administered_by)}"
                                                            if s.administered_by_id else ""))]
    if s.administered_mg is not None and s.prepared_dose_mg is not None and s.administered_mg != s.prepared_dose_mg:
        rows.append(("Dose prepared", _num(s.prepared_dose_mg, "mg")))
    table = Table(["Time", "Event", "Rate", "Note", "By"], [
        [c.time(e.at, seconds=True), e.get_kind_display(), _num(e.rate_mL_per_h, "mL/h"),
         e.note + (f" (reading {e.reading.bp} at {c.time(e.reading.taken_at)})" if e.reading_id else ""),
         _who(e.by)] for e in g.events], empty="Dosing not started.", caption="Dosing events")
    section = Section("dosing", "Dosing", rows=rows, tables=[table])
    if s.pump_pause_confirmed_at:
        section.notes.append(f"Pump pause confirmed by {_who(s.pump_pause_confirmed_by)} at "
                             f"{c.time(s.pump_pause_confirmed_at)}.")
    return section


def _vitals_section(g: Gathered, c: _Clock) -> Section:
    table = Table(["Time", "Phase", "BP (mmHg)", "HR (bpm)", "SpO2 (%)", "RR (/min)", "Level", "By"], [
        [c.time(r.taken_at), r.get_phase_display(), r.bp or DASH, _opt(r.heart_rate_bpm), _opt(r.spo2_percent),
         _opt(r.respiratory_rate_per_min), r.level_name, _who(r.recorded_by)] for r in g.vitals],
        empty="No readings.")
    findings = [f"{c.time(r.taken_at)} {r.level_name.upper()}: " + "; ".join(
        str(f.get("message", f)) if isinstance(f, dict) else str(f) for f in r.findings)
        for r in g.vitals if r.level >= 1 and r.findings]
    return Section("vitals", "Vital signs", tables=[table], notes=findings)


def _opt(v) -> str:
    return DASH if v is None else str(v)


def _adverse_section(g: Gathered, c: _Clock) -> Section:
    return Section("adverse_events", "Adverse events", tables=[Table(
        ["Onset", "Event", "Severity", "Description", "Action / rescue", "Resolved", "By"], [
            [c.time(a.onset_at), a.get_kind_display(), a.get_severity_display(), a.description or DASH,
             "; ".join(x for x in (a.action_taken, f"rescue: {a.rescue_medication}" if a.rescue_medication else "")
                       if x) or DASH,
             c.time(a.resolved_at) if a.resolved_at else "not resolved", _who(a.recorded_by)]
            for a in g.adverse_events], empty="None recorded.")])


def _ratings_section(g: Gathered, c: _Clock) -> Section:
    def name(code: str) -> str:
        scale = SCALES.get(code)
        return scale.name if scale is not None else code.upper()

    return Section("ratings", "Ratings", tables=[Table(
        ["Time", "Scale", "Score", "Band", "When", "Flags", "By"], [
            [c.time(r.at), name(r.scale), _opt(r.total), r.band or DASH, r.get_timepoint_display(),
             "; ".join(str(f.get("message", f)) if isinstance(f, dict) else str(f) for f in r.flags) or DASH,
             _who(r.recorded_by)] for r in g.ratings], empty="None recorded.")])


def _observations_section(g: Gathered, c: _Clock) -> Section:
    return Section("observations", "Observations", tables=[Table(
        ["Time", "By", "Observation"], [[c.time(o.at), _who(o.recorded_by), o.text] for o in g.observations],
        empty="None recorded.", free_text_last=True)])


def _rems_section(form: RemsForm, c: _Clock) -> Section:
    def yn(v) -> str:
        return DASH if v is None else _yes(v)

    return Section("rems", "Spravato REMS monitoring", rows=[
        ("Form", form.get_status_display() + (f", due by {form.due_by:%Y-%m-%d}" if form.due_by else "")),
        ("BP before / ~40 min / before completion",
         " · ".join(x or DASH for x in (form.bp_before, form.bp_40min, form.bp_before_completion))),
        ("Sedation / dissociation / respiratory depression",
         " · ".join(yn(v) for v in (form.sedation, form.dissociation, form.respiratory_depression))),
        ("Monitored, first device to end",
         DASH if form.minutes_monitored is None else f"{form.minutes_monitored} min"),
        ("Submitted", c.at(form.submitted_at) if form.submitted_at else "not yet"),
    ])


def _discharge_section(s, c: _Clock) -> Section:
    S = TreatmentSession.Status
    if s.status == S.TRANSFERRED:
        return Section("discharge", "Discharge", rows=[
            ("Outcome", "Transferred to emergency care"), ("Transferred at", c.at(s.transferred_at)),
            ("Where, how", s.transfer_note or DASH)])
    if s.status != S.DISCHARGED:
        return Section("discharge", "Discharge", rows=[("Outcome", "Not discharged yet")],
                       notes=[f"Recovery: alert and oriented {_yes(s.alert_and_oriented).lower()}, walking steadily "
                              f"{_yes(s.steady_gait).lower()}."] if s.dose_ended_at else [])
    check = s.discharge_check or {}
    ready = check.get("ready")
    missing = [str(m) for m in check.get("missing", [])]
    readiness = ("Ready (clinical core check)" if ready else
                 "Not ready: " + "; ".join(missing) if ready is False else DASH)
    rows = [("Outcome", "Discharged home"), ("Discharged", f"{c.at(s.discharged_at)} by {_who(s.discharged_by)}"),
            ("Readiness check at discharge", readiness),
            ("Alert and oriented", _yes(s.alert_and_oriented)), ("Walking steadily", _yes(s.steady_gait)),
            ("Escort", f"{s.escort_name} {s.escort_phone}".strip() or "none recorded"),
            ("No driving until the next day acknowledged", _yes(s.no_driving_acknowledged))]
    if s.discharge_override_reason:
        rows.append(("Prescriber's override reason", s.discharge_override_reason))
    return Section("discharge", "Discharge", rows=rows)


def _signatures_section(s, c: _Clock) -> Section:
    rows = [("Nurse", f"{_who(s.nurse_signed_by)}, signed {c.at(s.nurse_signed_at)}" if s.nurse_signed_at
             else "not signed"),
            ("Prescriber co-signature", f"{_who(s.prescriber_signed_by)}, signed {c.at(s.prescriber_signed_at)}"
             if s.prescriber_signed_at else "not signed")]
    return Section("signatures", "Session summary and signatures", rows=rows,
                   notes=[s.note_summary] if s.note_summary else [])


def _addenda_section(g: Gathered, c: _Clock) -> Section:
    return Section("addenda", "Addenda", tables=[Table(
        ["Time", "By", "Addendum"], [[c.at(a.at), _who(a.by), a.text] for a in g.addenda],
        empty="No addenda.", free_text_last=True)])


# ============================================================================================ the vitals chart
#: The series the chart draws: (label, attribute, unit, dash pattern for print in black and white).
SERIES = (
    ("Systolic BP", "systolic_mmHg", "mmHg", ""),
    ("Diastolic BP", "diastolic_mmHg", "mmHg", "6 3"),
    ("Heart rate", "heart_rate_bpm", "bpm", "2 2"),
    ("SpO2", "spo2_percent", "%", "8 2 2 2"),
)
COLOURS = ("#b3261e", "#1d4e89", "#2e7d32", "#6a1b9a")


@dataclass
class Series:
    label: str
    unit: str
    dash: str
    colour: str
    points: list[tuple[float, float]]  # (x, y) in 0..1, y up


@dataclass
class Chart:
    """The vitals over time on one scale, as fractions of the plot area (0..1, y up)."""

    series: list[Series]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    y_label: str = "mmHg, bpm, %"


def vitals_chart(readings: list[VitalsReading], tz) -> Chart | None:
    """The readings as lines (None with fewer than one reading): time across, one value scale up the side from
    a round number below the lowest value to one above the highest."""
    values = [getattr(r, attr) for r in readings for _l, attr, _u, _d in SERIES if getattr(r, attr) is not None]
    if not readings or not values:
        return None
    t0, t1 = readings[0].taken_at, readings[-1].taken_at
    span = max((t1 - t0).total_seconds(), 60.0)
    lo = max(0, (min(values) // 20) * 20 - 20)
    hi = (max(values) // 20 + 1) * 20 + 0
    if hi - lo < 40:
        hi = lo + 40

    def x(t) -> float:
        return (t - t0).total_seconds() / span

    def y(v) -> float:
        return (v - lo) / (hi - lo)

    series = []
    for (label, attr, unit, dash), colour in zip(SERIES, COLOURS, strict=True):
        pts = [(x(r.taken_at), y(getattr(r, attr))) for r in readings if getattr(r, attr) is not None]
        if pts:
            series.append(Series(label, unit, dash, colour, pts))
    step = 20 if hi - lo <= 160 else 40
    y_ticks = [(y(v), str(v)) for v in range(int(lo), int(hi) + 1, step)]
    n = min(6, max(1, len(readings) - 1))
    x_ticks = [(i / n, f"{timezone.localtime(t0 + (t1 - t0) * i / n, tz):%H:%M}") for i in range(n + 1)] \
        if t1 > t0 else [(0.0, f"{timezone.localtime(t0, tz):%H:%M}")]
    return Chart(series, x_ticks, y_ticks)


def chart_svg(chart: Chart, width: int = 720, height: int = 260) -> str:
    """The chart as an inline SVG (presentation attributes only: nothing for the page's CSP to refuse)."""
    from django.utils.html import escape

    left, right, top, bottom = 48, 24, 12, 52
    pw, ph = width - left - right, height - top - bottom

    def px(fx: float) -> float:
        return round(left + fx * pw, 1)

    def py(fy: float) -> float:
        return round(top + (1 - fy) * ph, 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-labelledby="vitals-chart-title" class="vitals-chart">',
           '<title id="vitals-chart-title">Vital signs over time</title>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999" stroke-width="1"/>']
    for fy, label in chart.y_ticks:
        out.append(f'<line x1="{left}" y1="{py(fy)}" x2="{left + pw}" y2="{py(fy)}" stroke="#ddd" '
                   f'stroke-width="0.5"/>')
        out.append(f'<text x="{left - 4}" y="{py(fy) + 3}" font-size="10" text-anchor="end">{escape(label)}</text>')
    for fx, label in chart.x_ticks:
        out.append(f'<text x="{px(fx)}" y="{top + ph + 14}" font-size="10" text-anchor="middle">{escape(label)}'
                   '</text>')
    for s in chart.series:
        pts = " ".join(f"{px(a)},{py(b)}" for a, b in s.points)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{s.colour}" stroke-width="1.6"{dash}>'
                   f'<title>{escape(s.label)} ({escape(s.unit)})</title></polyline>')
        for a, b in s.points:
            out.append(f'<circle cx="{px(a)}" cy="{py(b)}" r="2" fill="{s.colour}"/>')
    lx = left
    for s in chart.series:
        ly = height - 14
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{s.colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 26}" y="{ly + 3}" font-size="10">{escape(s.label)} ({escape(s.unit)})</text>')
        lx += 150
    out.append("</svg>")
    return "".join(out)
