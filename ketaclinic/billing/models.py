"""Billing: the clinic's billing details, a versioned price list, packages, Good Faith Estimates, invoices,
payments and refunds.

Money is whole cents (integers) everywhere: never a float, never a Decimal in storage. An invoice keeps the price
it was issued with (its lines copy the price version's amount and codes); an invoice is never deleted, only voided
with a reason; invoice lines, payments, refunds and price versions are append-only (database triggers,
``ketaclinic/audit/append_only.py``), and an invoice may change once: when it is voided.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ketaclinic.modelparts import Created, PublicId, person


class Service(models.TextChoices):
    """What the clinic charges for. Each has a price version with its codes (``services/prices.py`` names them
    with their sources)."""

    CONSULT = "consult", "Consult / psychiatric evaluation"
    IV_INFUSION = "iv_infusion", "IV ketamine infusion"
    IM_INJECTION = "im_injection", "IM ketamine injection"
    ESKETAMINE_56 = "esketamine_56", "Esketamine session (up to 56 mg)"
    ESKETAMINE_84 = "esketamine_84", "Esketamine session (over 56 mg)"
    INTEGRATION = "integration", "Integration session"
    FOLLOW_UP = "follow_up", "Follow-up visit"
    NO_SHOW_FEE = "no_show_fee", "No-show / late-cancellation fee"


class RefundRule(models.TextChoices):
    """How unused sessions of a package are refunded (the clinic's choice)."""

    PRORATED = "prorated", "Prorated: the package price less the package share of each session used"
    LIST_PRICE = "list_price", "List price: the package price less each used session at the current list price"
    NONE = "none", "No refund of unused sessions"


class BillingProfile(models.Model):
    """The clinic's billing identity and billing settings (one per clinic)."""

    clinic = models.OneToOneField("clinic.Clinic", on_delete=models.PROTECT, related_name="billing_profile")
    organisation_npi = models.CharField("organisation NPI (type 2)", max_length=10, blank=True)
    tax_id = models.CharField("tax ID (EIN)", max_length=10, blank=True)
    place_of_service = models.CharField("place of service code", max_length=2, default="11",
                                        help_text="CMS place-of-service code; 11 is Office")
    package_refund_rule = models.CharField(max_length=12, choices=RefundRule.choices, default=RefundRule.PRORATED)
    late_cancel_hours = models.PositiveIntegerField(
        default=24, help_text="A session cancelled fewer than this many hours before its start is charged the fee")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = person(null=True, blank=True)

    def __str__(self) -> str:
        return f"Billing profile of {self.clinic_id}"


class PriceVersion(PublicId, Created):
    """One price of one service from ``created_at`` on, with its billing code. A new price is a new version; the
    old ones stay (append-only), and invoices point at the version they were issued with."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    service = models.CharField(max_length=20, choices=Service.choices)
    version = models.PositiveIntegerField()
    amount_cents = models.PositiveBigIntegerField()
    code = models.CharField("CPT/HCPCS code", max_length=5, blank=True)
    modifiers = models.CharField(max_length=11, blank=True, help_text="Up to four two-character modifiers, spaced")
    units = models.PositiveSmallIntegerField(default=1)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["service", "-version"]
        constraints = [models.UniqueConstraint(fields=["clinic", "service", "version"], name="billing_price_version")]

    def __str__(self) -> str:
        return f"{self.get_service_display()} v{self.version}"


class PackageOffer(PublicId, Created):
    """A package the clinic sells: sessions of one service at a package price (an induction series, a booster
    bundle). Never edited once sold: a new price is a new offer, the old one retired."""

    class Kind(models.TextChoices):
        INDUCTION = "induction", "Induction series"
        BOOSTER = "booster", "Booster bundle"
        PREPAID = "prepaid", "Prepaid sessions"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    service = models.CharField(max_length=20, choices=Service.choices)
    sessions = models.PositiveSmallIntegerField()
    price_cents = models.PositiveBigIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-active", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class Estimate(PublicId, Created):
    """A Good Faith Estimate for a self-pay patient (45 CFR 149.610): requested or due from a scheduling, then
    issued with its itemised expected charges (lines), diagnoses and the dispute notice."""

    class Status(models.TextChoices):
        DUE = "due", "Due (not yet given)"
        ISSUED = "issued", "Issued"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Reason(models.TextChoices):
        SCHEDULED = "scheduled", "Service scheduled"
        REQUESTED = "requested", "Patient asked"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="estimates")
    number = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    asked_on = models.DateField(help_text="The day of scheduling or of the patient's request")
    service_on = models.DateField(null=True, blank=True, help_text="The day the first service is scheduled")
    covers_until = models.DateField(null=True, blank=True, help_text="The last day of service it covers")
    due_on = models.DateField()
    due_rule = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DUE, db_index=True)
    diagnoses = models.JSONField(default=list, blank=True)
    total_cents = models.PositiveBigIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = person(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"GFE {self.number}"


class EstimateLine(models.Model):
    estimate = models.ForeignKey(Estimate, on_delete=models.PROTECT, related_name="lines")
    service = models.CharField(max_length=20, choices=Service.choices)
    description = models.CharField(max_length=200)
    code = models.CharField(max_length=5, blank=True)
    modifiers = models.CharField(max_length=11, blank=True)
    quantity = models.PositiveSmallIntegerField()
    unit_cents = models.PositiveBigIntegerField()
    amount_cents = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description


class PatientPackage(PublicId, Created):
    """A package a patient bought: the sessions and price copied from the offer when sold. Drawn down by one
    completed session at a time (a package payment on the session's invoice); unused sessions refunded by the
    clinic's rule."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        USED = "used", "All sessions used"
        REFUNDED = "refunded", "Closed, unused sessions refunded"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="packages")
    offer = models.ForeignKey(PackageOffer, on_delete=models.PROTECT, related_name="sold")
    name = models.CharField(max_length=120)
    service = models.CharField(max_length=20, choices=Service.choices)
    sessions = models.PositiveSmallIntegerField()
    price_cents = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class Invoice(PublicId):
    """One invoice: for a completed treatment session, a visit (appointment), an integration session, a fee, or
    a package sold. Immutable once issued except for voiding (a trigger allows only that one change)."""

    class Kind(models.TextChoices):
        SESSION = "session", "Treatment session"
        VISIT = "visit", "Visit"
        INTEGRATION = "integration", "Integration session"
        FEE = "fee", "No-show / late-cancellation fee"
        PACKAGE = "package", "Package"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    issued_by = person(null=True, blank=True)
    service_on = models.DateField()
    treatment_session = models.ForeignKey("treatments.TreatmentSession", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    integration_session = models.ForeignKey("integration.IntegrationSession", null=True, blank=True,
                                            on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(PatientPackage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    estimate = models.ForeignKey(Estimate, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    rendering_provider = person(null=True, blank=True)
    diagnoses = models.JSONField(default=list, blank=True)
    total_cents = models.PositiveBigIntegerField()
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = person(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        live = Q(voided_at__isnull=True)
        constraints = [
            models.UniqueConstraint(fields=["treatment_session"], condition=live & Q(treatment_session__isnull=False),
                                    name="billing_one_live_invoice_per_session"),
            models.UniqueConstraint(fields=["appointment"], condition=live & Q(appointment__isnull=False),
                                    name="billing_one_live_invoice_per_visit"),
            models.UniqueConstraint(fields=["integration_session"],
                                    condition=live & Q(integration_session__isnull=False),
                                    name="billing_one_live_invoice_per_integration"),
            models.UniqueConstraint(fields=["package"], condition=live & Q(package__isnull=False),
                                    name="billing_one_live_invoice_per_package"),
        ]
        indexes = [models.Index(fields=["clinic", "voided_at", "issued_at"], name="billing_invoice_open")]
        del live

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class InvoiceBalance(models.Model):
    """What is still owed on an invoice: its total less payments plus refunds (a refund of a package's unused
    sessions changes nothing), and 0 once it is voided.

    Derived from the invoice and its payments, which stay the record (both append-only), and kept by the database
    itself: triggers (billing migration 0003) work the balance out again from the invoice and all its payments when
    an invoice is issued or voided and when a payment is written, in the writer's transaction, whoever the writer
    is (a use case, the release before during an upgrade, a restore). The aging report and the list of unpaid
    invoices read the few invoices with money owed here, on a partial index, instead of summing every payment the
    clinic ever took. ``services.balances_out_of_step`` names any invoice whose balance is not what its payments
    make it."""

    invoice = models.OneToOneField(Invoice, primary_key=True, on_delete=models.PROTECT, related_name="balance")
    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")  # the invoice's
    issued_at = models.DateTimeField()  # the invoice's
    owed_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["clinic", "issued_at"], condition=Q(owed_cents__gt=0),
                                name="billing_balance_owed")]

    def __str__(self) -> str:
        return f"Balance of invoice {self.invoice_id}: {self.owed_cents} cents"


class InvoiceLine(models.Model):
    """A line of an invoice: the service, its code, modifiers and units, and the charge it was issued with."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    price_version = models.ForeignKey(PriceVersion, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    service = models.CharField(max_length=20, choices=Service.choices, blank=True)
    description = models.CharField(max_length=200)
    code = models.CharField(max_length=5, blank=True)
    modifiers = models.CharField(max_length=11, blank=True)
    units = models.PositiveSmallIntegerField(default=1)
    amount_cents = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description


class Payment(PublicId):
    """Money in (a payment) or out (a refund) on one invoice; amounts are positive, the kind says which way.
    Append-only: a payment taken in error is refunded."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        # Money back for a package's unused sessions: it lowers what the package costs as well as what was paid,
        # so the package invoice's balance stays as it was.
        UNUSED_REFUND = "unused", "Refund of unused package sessions"

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card (by reference)"
        PACKAGE = "package", "Package draw-down"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    method = models.CharField(max_length=8, choices=Method.choices)
    amount_cents = models.PositiveBigIntegerField()
    reference = models.CharField(max_length=60, blank=True, help_text="Card terminal reference, never a card number")
    package = models.ForeignKey(PatientPackage, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="draws")
    receipt_number = models.CharField(max_length=20, unique=True)
    at = models.DateTimeField(default=timezone.now)
    by = person(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount_cents__gt=0), name="billing_payment_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.receipt_number}"

    @property
    def balance_effect_cents(self) -> int:
        """What this row takes off the invoice's balance (a refund of unused package sessions: nothing)."""
        return {self.Kind.PAYMENT: self.amount_cents, self.Kind.REFUND: -self.amount_cents}.get(self.kind, 0)
