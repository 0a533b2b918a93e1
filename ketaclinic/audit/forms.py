"""The audit search form (a GET: the audit trail is only ever read through this form)."""

from __future__ import annotations

from datetime import date

from django import forms

from ketaclinic.audit.actions import AuditAction
from ketaclinic.formfields import IsoDateField, TextField

LATEST_DAY = date(9000, 12, 31)
#: The longest MRN searched for: a patient's MRN is at most 16 characters (Patient.mrn), here with room for the
#: dashes and spaces it may be typed with (the search removes dashes).
MRN_TYPED_MAX = 32
#: The longest username (User.username).
USERNAME_MAX = 150


def action_choices() -> list:
    """Every ``AuditAction``, grouped by domain; each group starts with its whole domain ("custody." finds every
    custody action)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in AuditAction:
        groups.setdefault(action.domain, []).append((action.value, action.value))
    return [("", "Any action")] + [
        (domain, [(f"{domain}.", f"All {domain} actions"), *sorted(members)]) for domain, members in sorted(groups.items())
    ]


class AuditSearchForm(forms.Form):
    patient = TextField(max_length=MRN_TYPED_MAX, required=False, help_text="MRN")
    user = TextField(max_length=USERNAME_MAX, required=False, help_text="Username")
    action = forms.ChoiceField(required=False, choices=action_choices,
                               help_text="One action, or all the actions of a domain")
    date_from = IsoDateField(required=False)
    date_to = IsoDateField(required=False)

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day is not None and day > LATEST_DAY:
                self.add_error(name, "Choose a date between 1900 and 9000.")
                data[name] = None
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
