"""The forms of the passkey pages: what the browser sends back from a WebAuthn ceremony is one JSON text."""

from __future__ import annotations

import json

from django import forms

from ketaclinic.formfields import TextField

#: A WebAuthn answer (attestation or assertion) as JSON, base64url inside: a few kilobytes at most.
ANSWER_MAX = 16_000


class StartForm(forms.Form):
    """Starts a ceremony: nothing to type (the CSRF token is the point)."""


class ProveItIsYouForm(forms.Form):
    """Starts adding a passkey: the account's password again (a signed-in session alone adds no way to sign in)."""

    password = TextField(max_length=4096, strip=False, label="Your password",
                         widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class PasskeyAnswerForm(forms.Form):
    credential = TextField(max_length=ANSWER_MAX, widget=forms.HiddenInput)

    def clean_credential(self):
        text = self.cleaned_data["credential"]
        try:
            data = json.loads(text)
        except ValueError:
            raise forms.ValidationError("The device's answer is not readable.") from None
        if not isinstance(data, dict) or not isinstance(data.get("rawId"), str):
            raise forms.ValidationError("The device's answer is not a passkey's.")
        return text


class AddPasskeyForm(PasskeyAnswerForm):
    name = TextField(max_length=80, label="Name of this passkey",
                     help_text="So you can tell your passkeys apart, e.g. “Work laptop” or “Phone”.")
    field_order = ["name", "credential"]
