"""Forms for every billing POST. Money is read by :class:`MoneyField` ("1,234.50" → 123450 cents, strictly);
the services still decide, and their refusals are shown next to the field."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from ketaclinic.billing.models import PackageOffer, Payment, RefundRule, Service
from ketaclinic.billing.money import MoneyError, parse_cents, plain
from ketaclinic.formfields import IdField, IsoDateField, TextField, WholeNumberField, note_field


class MoneyField(forms.Field):
    """Dollars and cents as typed, to whole cents: "1,234.50", "1234.5", "$40"; refused: negative amounts, more
    than two decimals, misplaced thousands separators, exponents, zero (unless ``allow_zero``)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"})

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return plain(value) if isinstance(value, int) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_cents(value, label=str(self.label or "Amount"), allow_zero=self.allow_zero)
        except MoneyError as e:
            raise forms.ValidationError(e.message, code="invalid") from None


SERVICES = [(s.value, s.label) for s in Service]


class PriceForm(forms.Form):
    service = forms.ChoiceField(choices=SERVICES)
    amount = MoneyField(label="Price")
    code = TextField(max_length=5, required=False, label="CPT/HCPCS code",
                     help_text="Blank: the code the service starts with")
    modifiers = TextField(max_length=11, required=False)
    units = WholeNumberField(min_value=1, max_value=99, initial=1)
    note = TextField(max_length=300, required=False)


class ProfileForm(forms.Form):
    organisation_npi = TextField(max_length=12, required=False, label="Clinic NPI (type 2)")
    tax_id = TextField(max_length=10, required=False, label="Tax ID (EIN)")
    place_of_service = TextField(max_length=2, label="Place of service code", initial="11")
    package_refund_rule = forms.ChoiceField(choices=RefundRule.choices, label="Refund of unused package sessions")
    late_cancel_hours = WholeNumberField(min_value=0, max_value=168, label="Late-cancellation window (hours)")


class OfferForm(forms.Form):
    name = TextField(max_length=120)
    kind = forms.ChoiceField(choices=PackageOffer.Kind.choices)
    service = forms.ChoiceField(choices=[c for c in SERVICES if c[0] != Service.NO_SHOW_FEE])
    sessions = WholeNumberField(min_value=1, max_value=52)
    price = MoneyField(label="Package price")


class SellForm(forms.Form):
    offer = IdField(widget=forms.Select)

    def __init__(self, *args, offers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].widget.choices = [(o.pk, f"{o.name}") for o in offers]


class PaymentForm(forms.Form):
    method = forms.ChoiceField(choices=[(Payment.Method.CASH, "Cash"), (Payment.Method.CARD, "Card")])
    amount = MoneyField()
    reference = TextField(max_length=60, required=False, label="Card reference",
                          help_text="The terminal's reference, never the card number")


class RefundForm(forms.Form):
    method = forms.ChoiceField(choices=Payment.Method.choices)
    amount = MoneyField()
    reference = TextField(max_length=60, required=False, label="Card reference")
    reason = TextField(max_length=300)


class VoidForm(forms.Form):
    reason = note_field(max_length=300)


class DrawForm(forms.Form):
    package = IdField(widget=forms.Select)

    def __init__(self, *args, packages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].widget.choices = [(p.pk, p.name) for p in packages]


class PackageRefundForm(forms.Form):
    method = forms.ChoiceField(choices=[(Payment.Method.CASH, "Cash"), (Payment.Method.CARD, "Card")])
    reference = TextField(max_length=60, required=False, label="Card reference")
    reason = TextField(max_length=300, required=False)


class EstimateDueForm(forms.Form):
    reason = forms.ChoiceField(choices=[("scheduled", "Service scheduled"), ("requested", "Patient asked")])
    asked_on = IsoDateField(label="Scheduled or asked on", latest=lambda: timezone.localdate())
    service_on = IsoDateField(required=False, label="First service on")
    note = TextField(max_length=300, required=False)


class EstimateIssueForm(forms.Form):
    """Quantities per service (blank or 0: not expected) and the period the estimate covers."""

    service_on = IsoDateField(label="First service on")
    covers_until = IsoDateField(label="Covers services until")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in SERVICES:
            if value == Service.NO_SHOW_FEE:
                continue
            self.fields[f"qty_{value}"] = WholeNumberField(min_value=0, max_value=52, required=False, label=label)

    def items(self) -> list[tuple[str, int]]:
        return [(k.removeprefix("qty_"), v) for k, v in self.cleaned_data.items() if k.startswith("qty_") and v]


class WithdrawForm(forms.Form):
    reason = TextField(max_length=300)


class PeriodForm(forms.Form):
    """The accountant's CSV: a period of service dates (GET)."""

    start = IsoDateField()
    end = IsoDateField()

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end comes before the start.")
        return data


class SuperbillForm(forms.Form):
    """The patient's superbill: all their invoices, or one (GET)."""

    invoice = forms.UUIDField(required=False)
