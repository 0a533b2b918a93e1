"""Forms for signing in. Every POST is read by a form (see :mod:`ketaclinic.formfields`)."""

from __future__ import annotations

from django import forms


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    # Where to go after signing in; the view only follows it to this host (url_has_allowed_host_and_scheme).
    next = forms.CharField(required=False, widget=forms.HiddenInput)
