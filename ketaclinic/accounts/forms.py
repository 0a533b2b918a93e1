"""Forms for signing in. Every POST is read by a form (see :mod:`ketaclinic.formfields`)."""

from __future__ import annotations

from django import forms

from ketaclinic.formfields import TextField


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    # Where to go after signing in; the view only follows it to this host (url_has_allowed_host_and_scheme).
    next = forms.CharField(required=False, widget=forms.HiddenInput)


def _password(label: str, autocomplete: str, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, max_length=4096, strip=False,
                           widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}), **kwargs)


class SecondFactorForm(forms.Form):
    """The code from the authenticator app (or a recovery code) after the password."""

    code = forms.CharField(label="Code", max_length=40, error_messages={
        "required": "Type the 6-digit code your authenticator app shows, or a recovery code."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}))


class EnrolForm(forms.Form):
    """The first code from a newly added authenticator, which confirms it; replacing an authenticator
    (``replacing=True``) also asks for a code of the one in use, or a recovery code."""

    code = forms.RegexField(label="Code from the app", regex=r"^\s*[0-9]{3}\s?[0-9]{3}\s*$", max_length=12,
                            error_messages={"required": "Type the 6-digit code the app shows.",
                                            "invalid": "The code is the 6 digits the app shows."},
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    current_code = TextField(label="Code from your current authenticator, or a recovery code", max_length=40,
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

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    code = SecondFactorForm.base_fields["code"]


class AdminUnlockForm(forms.Form):
    """A clinic admin lifts the delay of one username or source address."""

    kind = forms.ChoiceField(choices=[("username", "Username"), ("address", "Source address")])
    key = forms.CharField(max_length=254)


class RemoveSecondFactorForm(forms.Form):
    """A clinic admin removes a staff member's authenticator and recovery codes (a lost phone)."""

    username = forms.CharField(label="Username", max_length=150)
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
