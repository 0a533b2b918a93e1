"""The custody pages' forms. Every custody POST is read by one of these (bound with ``formfields.posted``); a view
then makes one service call with ``cleaned_data`` and shows the service's refusals next to the fields."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django import forms
from django.utils import timezone

from ketaclinic.clinic.models import current_clinic_id
from ketaclinic.custody.models import (
    Count,
    CountLine,
    Incident,
    LedgerEntry,
    LossReport,
    Product,
    StorageLocation,
    Supplier,
)
from ketaclinic.custody.services import (
    MAX_UNITS_PER_PACKAGE,
    CountInput,
    CustodyError,
    count_maximum,
    parse_quantity,
)
from ketaclinic.formfields import ClinicDateTimeField, IsoDateField, TextField, WholeNumberField, note_field

#: The longest free-text note a custody record keeps (circumstances of a loss, an incident's resolution, a
#: correction's reason): input sanity, the columns themselves are unbounded text.
NOTE_MAX = 2000


class QuantityField(forms.Field):
    """A custody quantity, parsed by ``services.parse_quantity`` (the one strict parser): finite, greater than
    zero (or zero when ``allow_zero``), at most two decimals, at most ``maximum`` and never above
    ``services.MAX_QUANTITY``; refusals show next to the field."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, allow_zero: bool = False, maximum: Decimal | None = None, unit: str = "", **kwargs):
        self.allow_zero, self.maximum, self.unit = allow_zero, maximum, unit
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_quantity(value, "value", allow_zero=self.allow_zero, maximum=self.maximum, unit=self.unit)
        except CustodyError as e:
            raise forms.ValidationError(e.errors["value"], code="invalid") from None


class ActionForm(forms.Form):
    """Which of a page's forms was posted, read from the hidden field each of them carries (``action``; ``which``
    on the set-up page, whose product form has a field of its own named ``form``). ``choice`` is None when the
    field is missing or names no form of the page."""

    def __init__(self, data, *, choices: Iterable[str], field: str = "action"):
        super().__init__(data)
        self.field = field
        self.fields[field] = forms.ChoiceField(choices=[(c, c) for c in choices])

    @property
    def choice(self) -> str | None:
        return self.cleaned_data[self.field] if self.is_bound and self.is_valid() else None


class BackForm(forms.Form):
    """Where a form posted from another page returns: ``back=cockpit`` brings the nurse back to the session's
    cockpit (its drug account) with the outcome as a message, instead of staying on the custody page."""

    back = forms.ChoiceField(choices=[("", "this page"), ("cockpit", "the session's cockpit")], required=False)

    @property
    def target(self) -> str:
        return self.cleaned_data["back"] if self.is_valid() else ""


class ConfirmForm(forms.Form):
    """A button that posts nothing but its CSRF token (countersign a receipt, record the administration the
    session holds): the service decides, and its refusal is shown as this form's error."""


class ReceiptForm(forms.Form):
    supplier = forms.ModelChoiceField(Supplier.objects.filter(kind=Supplier.Kind.DISTRIBUTOR, active=True))
    invoice_number = TextField(max_length=60)
    invoice_date = IsoDateField()
    received_on = IsoDateField(label="Date received", initial=timezone.localdate)
    product = forms.ModelChoiceField(Product.objects.filter(active=True))
    lot_number = TextField(max_length=40, label="Lot number")
    expiry = IsoDateField(label="Expiry date")
    packages = WholeNumberField(min_value=1, max_value=500, label="Packages received",
                                help_text="Vials, or kits for esketamine")
    location = forms.ModelChoiceField(StorageLocation.objects.none(), label="Stored in", empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the stores of the clinic acting now (its DEA registration holds what it receives)
        self.fields["location"].queryset = StorageLocation.objects.filter(active=True, clinic_id=current_clinic_id())


class DrawForm(forms.Form):
    container = forms.ModelChoiceField(queryset=None, to_field_name="external_id", label="Vial or device")
    quantity = QuantityField(label="Amount drawn")

    def __init__(self, *args, containers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["container"].queryset = containers
        self.fields["container"].label_from_instance = lambda c: (
            f"{c.label} · {c.lot.product.name} · lot {c.lot.lot_number} · {c.balance} {c.lot.product.unit} left")


class WasteForm(forms.Form):
    quantity = QuantityField(label="Residue wasted")
    method = TextField(max_length=200, initial="Expelled into drug-disposal container",
                             label="Method of wastage")


class WitnessForm(forms.Form):
    quantity_entered = QuantityField(label="Amount you saw wasted or destroyed")


class DestroyForm(forms.Form):
    quantity = QuantityField(label="Quantity to destroy")
    method = TextField(max_length=200, label="Method of destruction",
                             help_text="Rendered non-retrievable, e.g. chemical denaturing kit")
    place = TextField(max_length=200, label="Place of destruction")


class LossForm(forms.Form):
    kind = forms.ChoiceField(choices=LossReport.Kind.choices, label="Type of loss")
    quantity = QuantityField(label="Quantity missing")
    discovered_at = ClinicDateTimeField(label="Discovered at")
    circumstances = note_field(max_length=NOTE_MAX)
    police_notified = forms.BooleanField(required=False)
    police_report = TextField(max_length=80, required=False, label="Police report number")


class ReturnForm(forms.Form):
    quantity = QuantityField(label="Quantity returned")
    distributor = forms.ModelChoiceField(Supplier.objects.filter(kind=Supplier.Kind.REVERSE_DISTRIBUTOR, active=True),
                                         label="Reverse distributor")
    reason = TextField(max_length=200)


class LossNoticeForm(forms.Form):
    notice_sent_at = ClinicDateTimeField(required=False, label="Written notice to DEA Field Division sent at")
    form106_filed_on = IsoDateField(required=False, latest=timezone.localdate, label="DEA Form 106 filed on")
    form106_reference = TextField(max_length=80, required=False, label="Form 106 confirmation number")


class CountScopeForm(forms.Form):
    """Which store is counted, and which kind of count: from the page's selector (GET) or the count form's
    hidden fields (POST)."""

    location = forms.ModelChoiceField(queryset=None, to_field_name="external_id", empty_label=None, label="Store")
    kind = forms.ChoiceField(choices=Count.Kind.choices, label="Kind")

    def __init__(self, data, *, locations):
        super().__init__(data)
        self.fields["location"].queryset = locations


class CountForm(forms.Form):
    """A blind count of every container in one store: an amount per container (``c_<container id>``) and, for an
    inventory, the method (``m_<container id>``) and when it was taken. The book balance is never an initial
    value; the most a line accepts is twice the container's labelled content (``services.count_maximum``)."""

    timing = forms.ChoiceField(choices=Count.Timing.choices, required=False, error_messages={
        "invalid_choice": "Say whether the inventory was taken at opening or close of business (21 CFR 1304.11)."})

    def __init__(self, data=None, *, containers: list, inventory: bool):
        super().__init__(data)
        self.containers = containers
        if not inventory:
            del self.fields["timing"]  # a routine count records no opening/close timing
        for c in containers:
            unit = c.lot.product.unit
            self.fields[f"c_{c.external_id}"] = QuantityField(
                allow_zero=True, maximum=count_maximum(c), unit=unit, label=f"Counted in {c.label} ({unit})",
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6}),
                error_messages={"required": "Enter an amount (0 if none)."})
            self.fields[f"m_{c.external_id}"] = forms.ChoiceField(
                choices=CountLine.Method.choices, required=False, label=f"Method for {c.label}",
                error_messages={"invalid_choice": "Choose exact or estimated."})

    def rows(self) -> list[dict]:
        """One row per container for the page: the container and its two bound fields."""
        return [{"c": c, "counted": self[f"c_{c.external_id}"], "method": self[f"m_{c.external_id}"]}
                for c in self.containers]

    def clean(self):
        """The cleaned count is what ``services.submit_count`` takes: ``lines`` and ``timing``."""
        data = super().clean()
        if self.errors:
            return data
        return {"lines": [CountInput(c, data[f"c_{c.external_id}"], data[f"m_{c.external_id}"]
                                     or CountLine.Method.EXACT) for c in self.containers],
                "timing": data.get("timing") or ""}


class IncidentForm(forms.Form):
    resolution = forms.ChoiceField(choices=Incident.Resolution.choices)
    reason = note_field(max_length=NOTE_MAX)


#: The highest ledger page a reversal returns to (50 entries a page: five million entries); a higher one is dropped.
LEDGER_PAGE_MAX = 100_000


class _DroppedWhenInvalid:
    """A hidden field that only says where the user was: a missing or invalid value is dropped (cleaned to None),
    never an error that would refuse the form it rides on."""

    def clean(self, value):
        try:
            return super().clean(value) or None
        except forms.ValidationError:
            return None


class _LedgerKindField(_DroppedWhenInvalid, forms.ChoiceField):
    pass


class _LedgerPageField(_DroppedWhenInvalid, WholeNumberField):
    pass


class ReverseForm(forms.Form):
    """A row's "Reverse" on the ledger, with the page and kind filter it was on (hidden) so the answer returns
    there (``place``): a kind that is not a ledger kind, or a page that is not a whole number from 1 to
    ``LEDGER_PAGE_MAX``, is dropped."""

    reason = note_field(max_length=NOTE_MAX, rows=2, label="Reason for the correction",
                             error_messages={"required": "Give a reason for the correction."})
    kind = _LedgerKindField(choices=LedgerEntry.Kind.choices, required=False, widget=forms.HiddenInput)
    page = _LedgerPageField(min_value=1, max_value=LEDGER_PAGE_MAX, required=False, widget=forms.HiddenInput)

    @property
    def place(self) -> dict[str, str | int]:
        """The ledger's query the user was on (``kind``, ``page``): only what is valid, for ``urlencode``."""
        self.is_valid()  # cleans every field; these two never refuse
        return {name: self.cleaned_data[name] for name in ("kind", "page") if self.cleaned_data.get(name)}


class SupplierForm(forms.Form):
    name = TextField(max_length=200)
    address = TextField(max_length=300)
    dea_number = TextField(max_length=20, label="DEA number")
    kind = forms.ChoiceField(choices=Supplier.Kind.choices)


class ProductForm(forms.Form):
    ndc = TextField(max_length=20, label="NDC")
    name = TextField(max_length=200)
    drug = forms.ChoiceField(choices=Product.Drug.choices)
    form = forms.ChoiceField(choices=Product.Form.choices)
    strength_mg_per_mL = QuantityField(required=False, label="Strength (mg/mL, vials)")
    container_volume_mL = QuantityField(required=False, label="Vial volume (mL)")
    device_mg = QuantityField(required=False, label="mg per device (nasal spray)")
    units_per_package = WholeNumberField(min_value=1, max_value=MAX_UNITS_PER_PACKAGE, initial=1,
                                         label="Vials or devices per package")


class LocationForm(forms.Form):
    name = TextField(max_length=120)
    rooms = forms.ModelMultipleChoiceField(queryset=None, required=False, help_text="Rooms this store supplies")

    def __init__(self, *args, clinic=None, **kwargs):
        super().__init__(*args, **kwargs)
        from ketaclinic.clinic.models import Room

        self.fields["rooms"].queryset = Room.objects.filter(clinic=clinic, active=True)
