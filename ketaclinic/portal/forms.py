"""Forms for the patient portal and for inviting a patient. Every POST is read by one of these forms; the
services (``portal/services.py``) still decide, and their refusals are shown next to the field."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ketaclinic.formfields import TextField
from ketaclinic.inputs import control_character

CODE_DIGITS = 6
#: The longest code read: the 6 digits, typed with spaces between them.
CODE_MAX = 20
#: The longest password read: any printable character, spaces included and kept; no control characters.
PASSWORD_MAX = 4096
#: The longest portal page to return to (a URL; browsers and proxies keep about 2,000 characters).
NEXT_MAX = 2000
WRONG_CODE = "That code is not right, or it has expired. Check the newest email, or send a new code."
#: Shown when a (hidden) page to return to was refused: the page is shown again with the portal's home page instead.
NEXT_REFUSED = ("The link that opened this page is damaged (the page to return to is too long or holds a control "
                "character). Type the code again: you will go to the portal's home page.")


def portal_next(raw: object, host: str) -> str:
    """Where to go after the second factor: a portal page on this host (at most NEXT_MAX characters, no control
    characters), else the portal's home page."""
    text = str(raw or "")
    if (text.startswith("/portal/") and len(text) <= NEXT_MAX and control_character(text) is None
            and url_has_allowed_host_and_scheme(text, {host})):
        return text
    return reverse("portal:home")


class AcceptForm(forms.Form):
    password = TextField(label="Choose a password", max_length=PASSWORD_MAX, strip=False,
                         widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                         help_text="At least 10 characters; not a common password.")
    password2 = TextField(label="Type it again", max_length=PASSWORD_MAX, strip=False,
                          widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class _NextForm(forms.Form):
    """A form carrying the portal page to return to (``next``), kept to this host's portal pages."""

    next = TextField(label="The page to return to", max_length=NEXT_MAX, required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, host: str, next_url: str = "", **kwargs):
        kwargs.setdefault("initial", {})["next"] = portal_next(next_url, host)
        super().__init__(data, **kwargs)
        self.host = host

    def clean_next(self) -> str:
        return portal_next(self.cleaned_data.get("next"), self.host)

    def next_url(self) -> str:
        if not self.is_bound:
            return self.initial["next"]
        self.full_clean()
        return self.cleaned_data.get("next") or reverse("portal:home")


class VerifyForm(_NextForm):
    """The 6-digit code emailed for a new device, and whether to trust this device."""

    code = TextField(label="Sign-in code", max_length=CODE_MAX,
                     error_messages={"required": f"Enter the {CODE_DIGITS}-digit code from the email."})
    trust = forms.BooleanField(required=False)

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", code):
            raise forms.ValidationError(f"The code is the {CODE_DIGITS} digits in the email.")
        return code


class ResendCodeForm(_NextForm):
    """Send a new code; the page to return to comes along."""


class InviteForm(forms.Form):
    """Staff invite a patient to the portal; blank uses the email on the patient's record."""

    email = forms.EmailField(required=False, max_length=254)


class EducationForm(forms.Form):
    """A new version of an education page; ``action`` says whether to preview it or save it."""

    title = TextField(label="Title", max_length=200, error_messages={"required": "Give the page a title."})
    body = TextField(label="Text", max_length=20000, multiline=True, widget=forms.Textarea(attrs={"rows": 24}),
                     help_text="Plain text: a blank line between paragraphs, '## ' for a heading, '- ' for a bullet, "
                               "**bold**, [words](https://address). Anything else shows as typed.",
                     error_messages={"required": "Write the page's text."})
    sources = TextField(label="Sources (one a line)", max_length=5000, multiline=True,
                        widget=forms.Textarea(attrs={"rows": 6}),
                        error_messages={"required": "List where the page's statements come from."})
    note = TextField(label="What changed, and why", max_length=300, required=False)
    action = forms.ChoiceField(choices=[("preview", "Preview"), ("save", "Save as a new version")], required=False)


class ApproveForm(forms.Form):
    """A prescriber's approve button: nothing to type."""
