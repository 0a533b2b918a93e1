"""Treatment orders and treatment sessions.

The shared contract other apps read (measures overlays doses on trajectories, the portal lists
appointments, custody links draws to a session's verified dose): ``TreatmentOrder`` and
``TreatmentSession`` with the fields below. Extend with new fields and migrations; do not rename these.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.encryption import EncryptedTextField
from ketaclinic.modelparts import ByAt, Created, PublicId, Recorded, ScaleScore, Signed, person


class Drug(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine (racemic)"
    ESKETAMINE = "esketamine", "Esketamine nasal spray (Spravato)"


class Route(models.TextChoices):
    IV = "iv", "Intravenous infusion"
    IM = "im", "Intramuscular injection"
    INTRANASAL = "intranasal", "Intranasal (esketamine)"


class ConsentDocument(models.Model):
    """One version of the clinic's informed-consent document for a drug. A signed version is never edited: a change
    is a new version, and every session from then on needs the patient's signature of the newest one."""

    drug = models.CharField(max_length=20, choices=Drug.choices)
    version = models.CharField(max_length=20, help_text="e.g. 2026-1")
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="The full text the patient reads and signs.")
    effective_from = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["drug", "-effective_from", "-pk"]
        constraints = [models.UniqueConstraint(fields=["drug", "version"], name="unique_consent_version")]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"


class ConsentSignature(models.Model):
    """A patient's signature of one consent version, witnessed by the clinician who saw it signed."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consent_signatures")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    signer_name = models.CharField(max_length=200, help_text="The patient's full name as they signed it")
    signed_at = models.DateTimeField(default=timezone.now)
    witnessed_by = person()

    class Meta:
        ordering = ["-signed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.document} signed by {self.signer_name} on {self.signed_at:%Y-%m-%d}"


class TreatmentOrder(Created, PublicId, Signed):
    """A prescriber's signed order for a treatment series."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Signed, active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_orders")
    drug = models.CharField(max_length=20, choices=Drug.choices)
    route = models.CharField(max_length=20, choices=Route.choices)
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    fixed_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    infusion_minutes = models.PositiveIntegerField(null=True, blank=True)
    sessions_planned = models.PositiveIntegerField(default=6)
    sessions_per_week = models.PositiveIntegerField(default=2)
    min_spacing_days = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Added by the treatment journey (migration 0002).
    eligibility = models.ForeignKey("screening.EligibilityAssessment", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="orders")
    indication = models.CharField(max_length=10, default="trd", help_text="esketamine: trd or mdsi")
    concentration_mg_per_mL = models.DecimalField("vial concentration (mg/mL)", max_digits=6, decimal_places=2,
                                                  null=True, blank=True)
    bag_volume_mL = models.DecimalField("infusion bag (mL)", max_digits=6, decimal_places=1, null=True, blank=True)
    dose_override_reason = models.TextField(blank=True)
    notes = EncryptedTextField(blank=True, help_text="Encrypted at rest (ketaclinic/encryption.py)")

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.get_route_display()} × {self.sessions_planned}"


class TreatmentSession(PublicId):
    """One dosing visit: booked into a room, chair and time, then run in the session cockpit."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CHECKED_IN = "checked_in", "Checked in"
        PRE_CHECKS = "pre_checks", "Pre-checks"
        DOSING = "dosing", "Dosing"
        OBSERVATION = "observation", "Observation"
        READY = "ready_for_discharge", "Ready for discharge"
        DISCHARGED = "discharged", "Discharged"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        TRANSFERRED = "transferred", "Transferred to emergency care"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions")
    order = models.ForeignKey(TreatmentOrder, on_delete=models.PROTECT, related_name="sessions")
    sequence = models.PositiveIntegerField(default=1, help_text="1 for the first session of the order")
    drug = models.CharField(max_length=20, choices=Drug.choices)
    route = models.CharField(max_length=20, choices=Route.choices)
    room = models.ForeignKey("clinic.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey("clinic.Chair", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scheduled_start = models.DateTimeField(db_index=True)
    scheduled_minutes = models.PositiveIntegerField(default=180)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOOKED, db_index=True)
    # The dose: prepared by one clinician, independently verified by a second, then given.
    prepared_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    prepared_by = person(null=True, blank=True)
    prepared_at = models.DateTimeField(null=True, blank=True)
    verified_by = person(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_ended_at = models.DateTimeField(null=True, blank=True)
    administered_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    administered_by = person(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # ---- Added by the treatment journey (migration 0002) ----
    booked_by = person(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    # Before: pre-checks
    identity_confirmed = models.BooleanField(default=False)
    weight_kg = models.DecimalField("today's weight (kg)", max_digits=6, decimal_places=2, null=True, blank=True)
    fasting_confirmed = models.BooleanField(default=False)
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=32, blank=True)
    no_driving_acknowledged = models.BooleanField(default=False)
    # Before signed consent documents the cockpit had a "consent on file" checkbox; kept as the record of those
    # sessions, never set any more.
    consent_on_file = models.BooleanField(default=False, editable=False)
    # The signed consent version this session relies on (set by the cockpit's consent step).
    consent = models.ForeignKey(ConsentSignature, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pregnancy_test = models.CharField(max_length=20, blank=True, choices=[
        ("negative", "Negative"), ("positive", "Positive"), ("not_applicable", "Not applicable")])
    music = models.CharField(max_length=40, blank=True)
    lighting = models.CharField(max_length=40, blank=True)
    setting_notes = models.CharField(max_length=300, blank=True)
    predose_override_reason = models.TextField(blank=True)
    predose_override_by = person(null=True, blank=True)
    # Dose: preparation and the working shown
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    concentration_mg_per_mL = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    bag_volume_mL = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    infusion_minutes = models.PositiveIntegerField(null=True, blank=True)
    prepared_volume_mL = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    rate_mL_per_h = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    devices = models.PositiveIntegerField(null=True, blank=True)
    dose_working = models.JSONField(default=list, blank=True)
    dose_warnings = models.JSONField(default=list, blank=True)
    dose_override_reason = models.TextField(blank=True)
    vial_or_device = models.CharField("vial or device", max_length=120, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    verified_weight_kg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    verified_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    # ---- Added for the clinical safety guards (issue 10, migration 0004) ----
    # Today's weight: who entered it, and a second clinician's confirmation of a weight the core held back.
    weight_recorded_by = person(null=True, blank=True)
    weight_confirmed_by = person(null=True, blank=True)
    weight_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The dose as calculated (before the syringe's 0.01 mL rounding); prepared_dose_mg is the measured dose.
    calculated_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    # The verifier's own reading of the vial strength and the bag volume.
    verified_concentration_mg_per_mL = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    verified_bag_volume_mL = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    # Hold means hold: the level of the reading that paused the dose (0 = paused by the nurse), and the nurse's
    # confirmation that the pump is paused (or stopped).
    pause_level = models.PositiveSmallIntegerField(default=0)
    pump_pause_confirmed_at = models.DateTimeField(null=True, blank=True)
    pump_pause_confirmed_by = person(null=True, blank=True)
    # During / discharge
    paused_at = models.DateTimeField(null=True, blank=True)
    alert_and_oriented = models.BooleanField(default=False)
    steady_gait = models.BooleanField(default=False)
    discharge_check = models.JSONField(default=dict, blank=True)
    discharge_override_reason = models.TextField(blank=True)
    discharged_by = person(null=True, blank=True)
    transferred_at = models.DateTimeField(null=True, blank=True)
    transfer_note = models.CharField("transfer to emergency care (where, how)", max_length=300, blank=True)
    # Signing
    note_summary = EncryptedTextField(blank=True, help_text="Encrypted at rest (ketaclinic/encryption.py)")
    nurse_signed_by = person(null=True, blank=True)
    nurse_signed_at = models.DateTimeField(null=True, blank=True)
    prescriber_signed_by = person(null=True, blank=True)
    prescriber_signed_at = models.DateTimeField(null=True, blank=True)
    # Denormalised for the cockpit and the Today board (kept in step by the services).
    alert_level = models.PositiveSmallIntegerField(default=0, help_text="level of the latest vitals reading")
    last_vitals_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_start"]
        indexes = [models.Index(fields=["patient", "scheduled_start"], name="session_patient_start")]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} session {self.sequence} on {self.scheduled_start:%Y-%m-%d}"

    @property
    def is_dosing_complete(self) -> bool:
        return self.dose_ended_at is not None and self.administered_mg is not None

    @property
    def is_signed(self) -> bool:
        return self.nurse_signed_at is not None or self.prescriber_signed_at is not None

    @property
    def is_active(self) -> bool:
        return self.status not in (self.Status.CANCELLED, self.Status.NO_SHOW, self.Status.BOOKED,
                                   self.Status.DISCHARGED, self.Status.TRANSFERRED)

    @property
    def scheduled_end(self):
        from datetime import timedelta

        return self.scheduled_start + timedelta(minutes=self.scheduled_minutes)


class Phase(models.TextChoices):
    PRE_DOSE = "pre_dose", "Pre-dose"
    DURING = "during", "During dosing"
    RECOVERY = "recovery", "Recovery"


class VitalsReading(Recorded):
    """One row of vital signs, saved on its own, with the clinical core's classification at the time."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="vitals")
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=12, choices=Phase.choices)
    systolic_mmHg = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_mmHg = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate_bpm = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    respiratory_rate_per_min = models.PositiveSmallIntegerField(null=True, blank=True)
    level = models.PositiveSmallIntegerField(default=0, help_text="0 ok, 1 caution, 2 hold, 3 stop")
    findings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["taken_at", "pk"]
        indexes = [
            models.Index(fields=["session", "taken_at"], name="vitals_session_at"),
            # The safety report's readings at HOLD or STOP (a few % of all readings), per session.
            models.Index(fields=["session"], condition=models.Q(level__gte=2), name="vitals_hold_stop_session"),
        ]

    LEVELS = {0: "ok", 1: "caution", 2: "hold", 3: "stop"}

    @property
    def level_name(self) -> str:
        return self.LEVELS[self.level]

    @property
    def bp(self) -> str:
        if self.systolic_mmHg is None:
            return ""
        return f"{self.systolic_mmHg}/{self.diastolic_mmHg or '-'}"

    def __str__(self) -> str:
        return f"{self.taken_at:%H:%M} {self.bp} {self.level_name}"


class PredoseOverride(ByAt):
    """A prescriber's recorded decision to start despite one specific pre-dose blocker (clinical.md §1: a recorded
    clinician override is required to proceed past a limit).

    ``kind`` says what is overridden: a vitals reading at HOLD or STOP (``reading`` and its ``level``), or a
    positive pregnancy test. A vitals override covers the readings recorded up to ``covers_through`` at no worse
    than ``level``; any later reading at HOLD or STOP needs a new override.
    """

    class Kind(models.TextChoices):
        VITALS = "vitals", "Pre-dose vital signs"
        PREGNANCY = "pregnancy", "Positive pregnancy test"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="predose_overrides")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reading = models.ForeignKey(VitalsReading, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    covers_through = models.ForeignKey(VitalsReading, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="latest pre-dose reading when overridden")
    level = models.PositiveSmallIntegerField(default=0, help_text="2 hold, 3 stop (vitals)")
    reason = models.TextField()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} override ({VitalsReading.LEVELS.get(self.level, '')})"


class SessionEvent(ByAt):
    """Infusion / dosing events: start, pause, resume, stop, rate change, esketamine device given."""

    class Kind(models.TextChoices):
        START = "start", "Started"
        PAUSE = "pause", "Paused"
        RESUME = "resume", "Resumed"
        STOP = "stop", "Stopped / finished"
        RATE = "rate", "Rate changed"
        DEVICE = "device", "Device given"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rate_mL_per_h = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    # A pause or stop recorded automatically for a vitals reading at HOLD or STOP (hold means hold).
    reading = models.ForeignKey("VitalsReading", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta(ByAt.Meta):
        # The safety report's paused sessions: pauses are a few % of the dosing events.
        indexes = [models.Index(fields=["session"], condition=models.Q(kind="pause"), name="event_pause_session")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%H:%M}"


class AdverseEvent(models.Model):
    class Kind(models.TextChoices):
        NAUSEA = "nausea", "Nausea"
        VOMITING = "vomiting", "Vomiting"
        AGITATION = "agitation", "Agitation"
        EMERGENCE = "emergence", "Emergence reaction"
        HYPERTENSION = "hypertension", "Hypertension"
        DESATURATION = "desaturation", "Desaturation"
        DIZZINESS = "dizziness", "Dizziness"
        HEADACHE = "headache", "Headache"
        ANXIETY = "anxiety", "Anxiety / panic"
        SEDATION = "sedation", "Excessive sedation"
        TACHYCARDIA = "tachycardia", "Tachycardia"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="adverse_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MILD)
    onset_at = models.DateTimeField(default=timezone.now)
    description = models.CharField(max_length=300, blank=True)
    action_taken = models.CharField(max_length=300, blank=True)
    rescue_medication = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    recorded_by = person()

    class Meta:
        ordering = ["onset_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"


class SessionRating(ScaleScore):
    """CADSS or MOAA/S during the session, scored by the clinical core."""

    class Timepoint(models.TextChoices):
        PRE = "pre", "Before dosing"
        PEAK = "peak", "At peak (~40 min)"
        PRE_DISCHARGE = "pre_discharge", "Before discharge"
        OTHER = "other", "Other"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="ratings")
    scale = models.CharField(max_length=10)
    timepoint = models.CharField(max_length=20, choices=Timepoint.choices)
    at = models.DateTimeField(default=timezone.now)
    recorded_by = person()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.scale} {self.total}"


class Observation(models.Model):
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="observations")
    at = models.DateTimeField(default=timezone.now)
    text = EncryptedTextField(help_text="Encrypted at rest (ketaclinic/encryption.py)")
    recorded_by = person()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"Observation {self.at:%H:%M}"


class AlertAcknowledgement(ByAt):
    """Someone at the chair acknowledged a HOLD or STOP reading: the nurse ("done": the steps taken) or a
    prescriber ("seen"). Never changed or removed; who and when stay on the record."""

    class Kind(models.TextChoices):
        DONE = "done", "Acknowledged at the chair"
        SEEN = "seen", "Seen by the prescriber"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="alert_acks")
    reading = models.ForeignKey(VitalsReading, on_delete=models.PROTECT, related_name="acks")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["reading", "kind", "by"], name="alert_ack_once_per_person")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%H:%M}"


class Addendum(ByAt):
    """A correction or addition to a signed session note; the original stays as it was."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="addenda")
    text = EncryptedTextField(help_text="Encrypted at rest (ketaclinic/encryption.py)")

    def __str__(self) -> str:
        return f"Addendum {self.at:%Y-%m-%d %H:%M}"


class RemsForm(models.Model):
    """Spravato REMS Patient Monitoring Form data for one esketamine session (clinical.md §3c 'Form fields')."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Being captured"
        COMPLETE = "complete", "Complete, to submit"
        TRANSFERRED = "transferred", "Transferred to emergency care (adverse event), to submit"
        SUBMITTED = "submitted", "Submitted"

    session = models.OneToOneField(TreatmentSession, on_delete=models.PROTECT, related_name="rems")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    first_treatment = models.BooleanField(default=False)
    dose_mg = models.PositiveIntegerField(null=True, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    devices = models.PositiveIntegerField(null=True, blank=True)
    bp_before = models.CharField(max_length=12, blank=True)
    bp_40min = models.CharField(max_length=12, blank=True)
    bp_before_completion = models.CharField(max_length=12, blank=True)
    vitals_acceptable_before = models.BooleanField(null=True)
    vitals_acceptable_completion = models.BooleanField(null=True)
    sedation = models.BooleanField(null=True)
    dissociation = models.BooleanField(null=True)
    respiratory_depression = models.BooleanField(null=True)
    minutes_monitored = models.PositiveIntegerField(null=True, blank=True, help_text="first device to end")
    ready_to_leave_minutes = models.PositiveIntegerField(null=True, blank=True)
    adverse_events = models.TextField(blank=True)
    transferred_to_emergency = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    due_by = models.DateField(null=True, blank=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = person(null=True, blank=True)

    def __str__(self) -> str:
        return f"REMS form ({self.status})"


class TitrationPlan(Created):
    """The ladder of doses an order's series may move along (issue 21), signed with the order and never edited: a
    different plan is a new order. Doses are mg/kg for IV and IM, mg for esketamine."""

    order = models.OneToOneField(TreatmentOrder, on_delete=models.PROTECT, related_name="titration")
    start = models.DecimalField(max_digits=7, decimal_places=3)
    steps = models.JSONField(help_text="the doses of the ladder, lowest first, as decimal strings")
    ceiling = models.DecimalField(max_digits=7, decimal_places=3)
    scale = models.CharField(max_length=20, help_text="the outcome scale the response is judged on")
    label_plan = models.CharField(max_length=20, blank=True, help_text="esketamine-trd or esketamine-mdsi")

    def core(self):
        from decimal import Decimal

        from ketaclinic.clinical.titration import TitrationPlan as Plan

        return Plan(self.order.route, self.start.normalize(), tuple(Decimal(s) for s in self.steps),
                    self.ceiling.normalize(), self.scale, self.label_plan)

    def __str__(self) -> str:
        return self.core().describe()


class DoseDecision(models.Model):
    """A prescriber's signature of one session's dose under a titration plan, with the proposal it answered (the
    dose proposed, why, whether a step up's criteria were met) and the reason for any other choice. Append-only:
    a new signature before the dose is prepared replaces the old one on the cockpit, both stay on the record."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="dose_decisions")
    proposed = models.DecimalField(max_digits=7, decimal_places=3)
    direction = models.CharField(max_length=10, help_text="start, up, same or down")
    reasons = models.JSONField(default=list, help_text="[{rule, text, source}] as the core gave them")
    step_up_criteria_met = models.BooleanField(default=False)
    dose = models.DecimalField(max_digits=7, decimal_places=3, help_text="the dose signed (mg/kg or mg)")
    override_reason = models.TextField(blank=True)
    # The series' last dosed session the proposal was worked out from (None: the series' first dose). A signature
    # holds only while that is still the last one: a session dosed since voids it (the prescriber signs again).
    based_on = models.ForeignKey(TreatmentSession, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    signed_by = person()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at", "pk"]

    def __str__(self) -> str:
        return f"dose {self.dose.normalize():f} signed for {self.session}"
