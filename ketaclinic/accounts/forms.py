"""Forms for signing in. Every POST is read by a form (see :mod:`ketaclinic.formfields`)."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.http import url_has_allowed_host_and_scheme

from ketaclinic.formfields import TextField
from ketaclinic.inputs import control_character

#: The longest username (Django's User.username).
USERNAME_MAX = 150
#: The longest password read: any printable character, spaces included and kept (never stripped); no control
#: characters. Far above what a person types, low enough that hashing it is not a burden.
PASSWORD_MAX = 4096
#: The longest second-factor code read: a recovery code is 16 characters, typed with dashes or spaces (19), an
#: authenticator's code 6 digits.
CODE_MAX = 40
#: The longest page to return to after signing in (a URL; browsers and proxies keep about 2,000 characters).
NEXT_MAX = 2000
#: The longest username or source address (an IPv6 address with its zone) an admin lifts a delay on.
UNLOCK_KEY_MAX = 254


def safe_next(raw: object, host: str) -> str:
    """The page to return to after signing in when it is one the sign-in form accepts back (a path on this host,
    at most NEXT_MAX characters, no control characters), else "" (the home page)."""
    text = str(raw or "")
    if len(text) > NEXT_MAX or control_character(text) is not None:
        return ""
    return text if url_has_allowed_host_and_scheme(text, {host}) else ""


def _username(**kwargs) -> TextField:
    return TextField(max_length=USERNAME_MAX, **kwargs)


class SignInForm(forms.Form):
    username = _username(label="Username",
                         widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = TextField(label="Password", max_length=PASSWORD_MAX, strip=False,
                         widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    # Where to go after signing in; the view only follows it to this host (url_has_allowed_host_and_scheme).
    next = TextField(label="The page to return to", max_length=NEXT_MAX, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if self.has_error("next"):  # a hidden field: its refusal is shown above the form
            self.add_error(None, "The link that opened this page is damaged (the page to return to is too long or "
                                 "holds a control character). Open the sign-in page again and sign in.")
        return data


def _password(label: str, autocomplete: str, **kwargs) -> TextField:
    return TextField(label=label, max_length=PASSWORD_MAX, strip=False,
                     widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}), **kwargs)


class SecondFactorForm(forms.Form):
    """The code from the authenticator app (or a recovery code) after the password."""

    code = TextField(label="Code", max_length=CODE_MAX, error_messages={
        "required": "Type the 6-digit code your authenticator app shows, or a recovery code."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}))


class EnrolForm(forms.Form):
    """The first code from a newly added authenticator, which confirms it; replacing an authenticator
    (``replacing=True``) also asks for a code of the one in use, or a recovery code."""

    code = TextField(label="Code from the app", max_length=12,
                     validators=[RegexValidator(r"^\s*[0-9]{3}\s?[0-9]{3}\s*$", "The code is the 6 digits the app shows.")],
                     error_messages={"required": "Type the 6-digit code the app shows."},
                     widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    current_code = TextField(label="Code from your current authenticator, or a recovery code", max_length=CODE_MAX,
                             required=False, error_messages={
                                 "required": "Type the 6-digit code your current authenticator shows, or a recovery "
                                             "code: replacing an authenticator needs proof you hold the old one."},
                             widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}))

    def __init__(self, *args, replacing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if replacing:
            self.fields["current_code"].required = True
        else:
            del self.fields["current_code"]


class UnlockForm(forms.Form):
    """A clinician lifts the sign-in delay on their own username with their second factor."""

    username = _username(label="Username", widget=forms.TextInput(attrs={"autocomplete": "username"}))
    code = SecondFactorForm.base_fields["code"]


class AdminUnlockForm(forms.Form):
    """A clinic admin lifts the delay of one username or source address."""

    kind = forms.ChoiceField(choices=[("username", "Username"), ("address", "Source address")])
    key = TextField(label="Username or source address", max_length=UNLOCK_KEY_MAX)


class RemoveSecondFactorForm(forms.Form):
    """A clinic admin removes a staff member's authenticator and recovery codes (a lost phone)."""

    username = _username(label="Username")
    confirm = forms.BooleanField(label="They lost their phone and their recovery codes; they will set up a new "
                                       "authenticator at their next sign-in")


class PasswordChangeForm(forms.Form):
    old_password = _password("Current password", "current-password")
    new_password1 = _password("New password", "new-password",
                              help_text="At least 10 characters; not a common password, not like your name.")
    new_password2 = _password("New password again", "new-password")


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))


class SetPasswordForm(forms.Form):
    new_password1 = PasswordChangeForm.base_fields["new_password1"]
    new_password2 = PasswordChangeForm.base_fields["new_password2"]
