"""Controlled-substance custody: where every millilitre (or device) of ketamine and esketamine is.

The ledger (``LedgerEntry``) is the record: append-only, hash-chained, one row per event. A container's
remaining quantity is derived from its ledger entries; ``Container.balance`` is a cache written in the same
transaction as each entry (under the container's row lock) and checked against the ledger by reconciliation.
Records kept under 21 CFR 1304 (clinical.md §6): receipts with the supplier's DEA number, each administration
with patient and administering person, wastage, destruction (DEA Form 41), theft/loss (DEA Form 106),
returns, counts and inventories.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from ketaclinic.audit.models import ChainedEntry
from ketaclinic.modelparts import PublicId, Resolved, person

Q2 = Decimal("0.01")


class Supplier(PublicId):
    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor", "Supplier / distributor"
        REVERSE_DISTRIBUTOR = "reverse_distributor", "Reverse distributor"

    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    dea_number = models.CharField("DEA registration", max_length=20)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.DISTRIBUTOR)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.dea_number})"


class Product(PublicId):
    class Drug(models.TextChoices):
        KETAMINE = "ketamine", "Ketamine HCl"
        ESKETAMINE = "esketamine", "Esketamine (Spravato)"

    class Form(models.TextChoices):
        VIAL = "vial", "Vial (injectable solution)"
        DEVICE = "device", "Nasal spray device"

    ndc = models.CharField("NDC", max_length=20, unique=True)
    name = models.CharField(max_length=200)
    drug = models.CharField(max_length=20, choices=Drug.choices)
    form = models.CharField(max_length=10, choices=Form.choices)
    # Vials: concentration and fill volume. Devices: mg per device (one device is one unit).
    strength_mg_per_mL = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    container_volume_mL = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    device_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    units_per_package = models.PositiveIntegerField(default=1, help_text="Vials or devices per package (kit)")
    dea_schedule = models.CharField(max_length=4, default="III")
    dea_drug_code = models.CharField(max_length=4, default="7285")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["drug", "name"]

    def __str__(self) -> str:
        return f"{self.name} (NDC {self.ndc})"

    @property
    def unit(self) -> str:
        """The unit the ledger counts this product in: mL for vials, devices for nasal sprays."""
        return "device" if self.form == self.Form.DEVICE else "mL"

    @property
    def mg_per_unit(self) -> Decimal:
        return self.device_mg if self.form == self.Form.DEVICE else self.strength_mg_per_mL

    @property
    def units_per_container(self) -> Decimal:
        return Decimal(1) if self.form == self.Form.DEVICE else self.container_volume_mL

    @property
    def finished_form(self) -> str:
        """21 CFR 1304.22(c)(2): each finished form and the volume per commercial container."""
        if self.form == self.Form.DEVICE:
            return f"nasal spray device, {self.device_mg:g} mg per device, {self.units_per_package} devices per kit"
        return f"injectable solution {self.strength_mg_per_mL:g} mg/mL, {self.container_volume_mL:g} mL vial"


class StorageLocation(PublicId):
    """A locked store (safe, cabinet) at the clinic; it supplies the rooms listed in ``rooms``."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    rooms = models.ManyToManyField("clinic.Room", blank=True, related_name="+", help_text="Rooms this store supplies")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="unique_storage_name")]

    def __str__(self) -> str:
        return self.name


class Receipt(PublicId):
    """Stock received on an invoice: entered by one authorised person, countersigned by another."""

    class Status(models.TextChoices):
        PENDING = "pending_countersign", "Awaiting countersignature"
        RECEIVED = "received", "Received"

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="receipts")
    invoice_number = models.CharField(max_length=60)
    invoice_date = models.DateField()
    received_on = models.DateField(help_text="Actual date of receipt (21 CFR 1304.21(d))")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="receipts")
    lot_number = models.CharField(max_length=40)
    expiry = models.DateField()
    packages = models.PositiveIntegerField()
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="receipts")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    entered_by = person()
    entered_at = models.DateTimeField(default=timezone.now)
    countersigned_by = person(null=True, blank=True)
    countersigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entered_at"]

    def __str__(self) -> str:
        return f"Invoice {self.invoice_number}: {self.packages} × {self.product.name} lot {self.lot_number}"

    @property
    def containers_count(self) -> int:
        return self.packages * self.product.units_per_package


class Lot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expiry = models.DateField()

    class Meta:
        ordering = ["product", "expiry"]
        constraints = [models.UniqueConstraint(fields=["product", "lot_number"], name="unique_lot")]

    def __str__(self) -> str:
        return f"{self.lot_number} (exp {self.expiry:%Y-%m-%d})"


class Container(PublicId):
    """One vial or one nasal-spray device."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="containers")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="containers")
    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="containers")
    label = models.CharField(max_length=40, unique=True, help_text="Label written on the vial or device")
    opened_at = models.DateTimeField(null=True, blank=True)
    # Cache of the ledger: written only by custody services, in the same transaction as the ledger entry,
    # while the row is locked. Reconciliation compares it with the ledger.
    balance = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["lot__expiry", "label"]

    def __str__(self) -> str:
        return self.label


class Bucket(models.TextChoices):
    """Where a quantity goes: the terms of the conservation law."""

    RECEIVED = "received", "Received"
    DRAWN = "drawn", "Drawn for a session"
    ADMINISTERED = "administered", "Administered"
    WASTED = "wasted", "Wasted (residue)"
    DESTROYED = "destroyed", "Destroyed (DEA Form 41)"
    LOST = "lost", "Theft or loss (DEA Form 106)"
    RETURNED = "returned", "Returned to reverse distributor"
    ADJUSTED = "adjusted", "Count adjustment"


# Effect of each bucket on the container's balance (+1 adds stock, -1 removes it, 0 no change).
CONTAINER_EFFECT: dict[str, int] = {
    Bucket.RECEIVED: 1, Bucket.DRAWN: -1, Bucket.ADMINISTERED: 0, Bucket.WASTED: 0,
    Bucket.DESTROYED: -1, Bucket.LOST: -1, Bucket.RETURNED: -1, Bucket.ADJUSTED: 1,
}


class LedgerEntry(PublicId, ChainedEntry):
    """One custody event. Never updated or deleted (DB triggers refuse it); corrected by a reversal."""

    chain = "custody"

    class Kind(models.TextChoices):
        RECEIVE = "receive", "Receive"
        DRAW = "draw", "Draw"
        ADMINISTER = "administer", "Administer"
        WASTE = "waste", "Waste"
        DESTROY = "destroy", "Destroy"
        LOSS = "loss", "Theft / loss"
        RETURN = "return", "Return"
        COUNT_ADJUST = "count-adjust", "Count adjustment"
        REVERSAL = "reversal", "Reversal"

    KIND_BUCKET = {
        "receive": Bucket.RECEIVED, "draw": Bucket.DRAWN, "administer": Bucket.ADMINISTERED,
        "waste": Bucket.WASTED, "destroy": Bucket.DESTROYED, "loss": Bucket.LOST, "return": Bucket.RETURNED,
        "count-adjust": Bucket.ADJUSTED,
    }

    kind = models.CharField(max_length=16, choices=Kind.choices)
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="entries")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    # Signed quantity in the product's unit (mL for vials, devices for nasal sprays); a reversal carries
    # the negated quantity of the entry it reverses, in the same bucket.
    quantity = models.DecimalField(max_digits=9, decimal_places=2)
    mg = models.DecimalField(max_digits=10, decimal_places=2)
    witness = person(null=True, blank=True)
    witness2 = person(null=True, blank=True)
    session = models.ForeignKey("treatments.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="custody_entries")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="custody_entries")
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="uses",
                               help_text="For administer/waste: the draw it accounts for")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    reason = models.TextField(blank=True)

    correction = "post a reversal instead"

    class Meta(ChainedEntry.Meta):
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["lot", "bucket"], name="custody_lot_bucket"),
            models.Index(fields=["container", "seq"], name="custody_container_seq"),
            models.Index(fields=["session", "bucket"], name="custody_session_bucket"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.quantity} {self.container.label}"

    def logged(self) -> dict[str, object]:
        return {
            "kind": self.kind, "bucket": self.bucket, "container_id": self.container_id, "lot_id": self.lot_id,
            "quantity": f"{self.quantity:.2f}", "mg": f"{self.mg:.2f}", "witness_id": self.witness_id,
            "witness2_id": self.witness2_id, "session_id": self.session_id, "patient_id": self.patient_id,
            "source_id": self.source_id, "reverses_id": self.reverses_id, "reason": self.reason,
        }


class PendingEvent(PublicId):
    """A waste or destruction waiting for its witnesses, each signed in on their own session."""

    class Kind(models.TextChoices):
        WASTE = "waste", "Waste of residue"
        DESTROY = "destroy", "Destruction (DEA Form 41)"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting witness"
        POSTED = "posted", "Witnessed and posted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    container = models.ForeignKey(Container, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey("treatments.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    quantity = models.DecimalField(max_digits=9, decimal_places=2)
    method = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    witnesses_required = models.PositiveSmallIntegerField()
    requested_by = person()
    requested_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity}"


class Attestation(models.Model):
    """A witness's signature on a pending event: they re-entered the quantity themselves."""

    event = models.ForeignKey(PendingEvent, on_delete=models.PROTECT, related_name="attestations")
    witness = person()
    quantity_entered = models.DecimalField(max_digits=9, decimal_places=2)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "witness"], name="one_attestation_per_witness")]

    def __str__(self) -> str:
        return f"{self.witness} witnessed {self.event}"


class LossReport(PublicId):
    """DEA Form 106 data for a theft or significant loss, with the notice deadlines (clinical.md §6)."""

    class Kind(models.TextChoices):
        THEFT = "theft", "Theft"
        SIGNIFICANT_LOSS = "loss", "Significant loss"
        IN_TRANSIT = "in_transit", "Lost in transit"

    # the registrant that files it: the clinic whose stock was lost (each clinic of a network has its own DEA
    # registration, and so its own Forms 106)
    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    discovered_at = models.DateTimeField()
    circumstances = models.TextField()
    police_notified = models.BooleanField(default=False)
    police_report = models.CharField(max_length=80, blank=True)
    reported_by = person()
    reported_at = models.DateTimeField(default=timezone.now)
    notice_due_at = models.DateTimeField()
    form106_due_on = models.DateField()
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    notice_sent_by = person(null=True, blank=True)
    form106_filed_on = models.DateField(null=True, blank=True)
    form106_reference = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-discovered_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} discovered {self.discovered_at:%Y-%m-%d}"


class Count(PublicId):
    """A physical count of one storage location: routine, initial inventory or biennial inventory."""

    class Kind(models.TextChoices):
        ROUTINE = "routine", "Routine count"
        INITIAL = "initial", "Initial inventory"
        BIENNIAL = "biennial", "Biennial inventory"

    class Timing(models.TextChoices):
        OPENING = "opening", "Opening of business"
        CLOSE = "close", "Close of business"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="counts")
    taken_on = models.DateField()
    timing = models.CharField(max_length=8, choices=Timing.choices, blank=True)
    counted_by = person()
    signed_at = models.DateTimeField(default=timezone.now)
    discrepancies = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.location} {self.taken_on}"


class CountLine(models.Model):
    class Method(models.TextChoices):
        EXACT = "exact", "Exact count / measure"
        ESTIMATED = "estimated", "Estimated (opened container)"

    count = models.ForeignKey(Count, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="count_lines")
    counted = models.DecimalField(max_digits=9, decimal_places=2)
    expected = models.DecimalField(max_digits=9, decimal_places=2, help_text="Book balance at signing (hidden while counting)")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.EXACT)

    def __str__(self) -> str:
        return f"{self.container}: counted {self.counted}, book {self.expected}"

    @property
    def difference(self) -> Decimal:
        return self.counted - self.expected


class Incident(PublicId, Resolved):
    """A count discrepancy, open until the compliance lead resolves it with a reason."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        ADJUST = "adjust", "Adjust the book balance to the count"
        NO_ADJUST = "no_adjust", "No adjustment (count error, found on recount)"
        LOSS = "loss", "Reported as theft/loss (DEA Form 106)"

    count_line = models.OneToOneField(CountLine, on_delete=models.PROTECT, related_name="incident")
    opened_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    entry = models.ForeignKey(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["status", "-opened_at"]

    def __str__(self) -> str:
        return f"Discrepancy on {self.count_line} ({self.get_status_display()})"
