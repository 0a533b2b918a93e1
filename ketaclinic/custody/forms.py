from __future__ import annotations

from django import forms
from django.utils import timezone

from ketaclinic.custody.models import Incident, LossReport, Product, StorageLocation, Supplier
from ketaclinic.custody.services import CustodyError, parse_quantity

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class QuantityField(forms.Field):
    """A custody quantity, parsed by ``services.parse_quantity`` (the one strict parser): finite, greater than
    zero, at most two decimals, at most ``services.MAX_QUANTITY``; refusals show next to the field."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_quantity(value, "value")
        except CustodyError as e:
            raise forms.ValidationError(e.errors["value"], code="invalid") from None


class ReceiptForm(forms.Form):
    supplier = forms.ModelChoiceField(Supplier.objects.filter(kind=Supplier.Kind.DISTRIBUTOR, active=True))
    invoice_number = forms.CharField(max_length=60)
    invoice_date = forms.DateField(widget=DATE)
    received_on = forms.DateField(label="Date received", widget=DATE, initial=timezone.localdate)
    product = forms.ModelChoiceField(Product.objects.filter(active=True))
    lot_number = forms.CharField(max_length=40, label="Lot number")
    expiry = forms.DateField(label="Expiry date", widget=DATE)
    packages = forms.IntegerField(min_value=1, max_value=500, label="Packages received",
                                  help_text="Vials, or kits for esketamine")
    location = forms.ModelChoiceField(StorageLocation.objects.filter(active=True), label="Stored in", empty_label=None)


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
    method = forms.CharField(max_length=200, initial="Expelled into drug-disposal container",
                             label="Method of wastage")


class WitnessForm(forms.Form):
    quantity_entered = QuantityField(label="Amount you saw wasted or destroyed")


class DestroyForm(forms.Form):
    quantity = QuantityField(label="Quantity to destroy")
    method = forms.CharField(max_length=200, label="Method of destruction",
                             help_text="Rendered non-retrievable, e.g. chemical denaturing kit")
    place = forms.CharField(max_length=200, label="Place of destruction")


class LossForm(forms.Form):
    kind = forms.ChoiceField(choices=LossReport.Kind.choices, label="Type of loss")
    quantity = QuantityField(label="Quantity missing")
    discovered_at = forms.DateTimeField(widget=DATETIME, label="Discovered at", input_formats=["%Y-%m-%dT%H:%M"])
    circumstances = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    police_notified = forms.BooleanField(required=False)
    police_report = forms.CharField(max_length=80, required=False, label="Police report number")


class ReturnForm(forms.Form):
    quantity = QuantityField(label="Quantity returned")
    distributor = forms.ModelChoiceField(Supplier.objects.filter(kind=Supplier.Kind.REVERSE_DISTRIBUTOR, active=True),
                                         label="Reverse distributor")
    reason = forms.CharField(max_length=200)


class LossNoticeForm(forms.Form):
    notice_sent_at = forms.DateTimeField(widget=DATETIME, required=False, input_formats=["%Y-%m-%dT%H:%M"],
                                         label="Written notice to DEA Field Division sent at")
    form106_filed_on = forms.DateField(widget=DATE, required=False, label="DEA Form 106 filed on")
    form106_reference = forms.CharField(max_length=80, required=False, label="Form 106 confirmation number")


class IncidentForm(forms.Form):
    resolution = forms.ChoiceField(choices=Incident.Resolution.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ReverseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason for the correction")


class SupplierForm(forms.Form):
    name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300)
    dea_number = forms.CharField(max_length=20, label="DEA number")
    kind = forms.ChoiceField(choices=Supplier.Kind.choices)


class ProductForm(forms.Form):
    ndc = forms.CharField(max_length=20, label="NDC")
    name = forms.CharField(max_length=200)
    drug = forms.ChoiceField(choices=Product.Drug.choices)
    form = forms.ChoiceField(choices=Product.Form.choices)
    strength_mg_per_mL = QuantityField(required=False, label="Strength (mg/mL, vials)")
    container_volume_mL = QuantityField(required=False, label="Vial volume (mL)")
    device_mg = QuantityField(required=False, label="mg per device (nasal spray)")
    units_per_package = forms.IntegerField(min_value=1, max_value=1000, initial=1, label="Vials or devices per package")


class LocationForm(forms.Form):
    name = forms.CharField(max_length=120)
    rooms = forms.ModelMultipleChoiceField(queryset=None, required=False, help_text="Rooms this store supplies")

    def __init__(self, *args, clinic=None, **kwargs):
        super().__init__(*args, **kwargs)
        from ketaclinic.clinic.models import Room

        self.fields["rooms"].queryset = Room.objects.filter(clinic=clinic, active=True)
