"""Forms for measurement-based care. Every POST is read by one of these forms; the services
(``measures/services.py``) still validate and decide, and their refusals are shown next to the field."""

from __future__ import annotations

from django import forms

from ketaclinic.clinical.scales import Scale


class ScaleAnswersForm(forms.Form):
    """A scale's answers, one field per item named by the item's id (blank = not answered), and which button was
    pressed: ``submit`` (score it) or anything else (save a draft). Used by staff entry, the portal and the
    consult's baseline scales (with ``prefix`` = the scale code)."""

    action = forms.CharField(required=False)

    def __init__(self, data=None, *, scale: Scale, **kwargs):
        super().__init__(data, **kwargs)
        self.scale = scale
        for item in scale.items:
            self.fields[item.id] = forms.TypedChoiceField(
                choices=[("", "not answered")] + [(o.value, o.label) for o in item.options], coerce=int,
                required=False, empty_value=None, label=item.label,
                error_messages={"invalid_choice": "'%(value)s' is not one of the answer options."})

    @property
    def submit(self) -> bool:
        return self.cleaned_data.get("action") == "submit"

    def answers(self) -> dict[str, int]:
        """The answered items (item id → value)."""
        return {it.id: self.cleaned_data[it.id] for it in self.scale.items
                if self.cleaned_data.get(it.id) is not None}

    def item_errors(self) -> dict[str, str]:
        """Refusals by field name (item id, or another field), one message each, as the scale templates show them."""
        return {name: " ".join(errs) for name, errs in self.errors.items()}
