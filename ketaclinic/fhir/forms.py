"""The clinic admin's forms for backend clients: register one (name, scopes as a grid of resource type by
interaction, public key) and revoke one."""

from __future__ import annotations

from django import forms

from ketaclinic.formfields import TextField

#: The interactions a clinic admin may grant, as scope letters (SMART v2), in the order scopes write them.
INTERACTIONS = (("r", "read"), ("s", "search"), ("c", "create (import)"))
#: Resource types offered when the resource registry cannot be read.
_FALLBACK_TYPES = ("Patient", "Condition", "Observation", "QuestionnaireResponse")


def resource_types() -> list[str]:
    """The resource types the facade serves (its registry), sorted; "*" (every type) comes first in the grid."""
    try:
        from ketaclinic.fhir.registry import TYPES
    except ImportError:  # the registry is the resources' half of the app
        return sorted(_FALLBACK_TYPES)
    return sorted(set(TYPES) | {"Patient", "Condition", "Observation", "QuestionnaireResponse"})


def scope_choices() -> list[tuple[str, str]]:
    return [(f"{t}:{letter}", f"{'every type' if t == '*' else t}: {label}")
            for t in ("*", *resource_types()) for letter, label in INTERACTIONS]


def scopes_from(picked: list[str]) -> list[str]:
    """Checked boxes ("Observation:r", "Observation:s") -> SMART v2 scopes ("system/Observation.rs")."""
    letters: dict[str, set[str]] = {}
    for item in picked:
        rtype, _, letter = item.partition(":")
        letters.setdefault(rtype, set()).add(letter)
    return [f"system/{t}.{''.join(c for c in 'cruds' if c in ls)}" for t, ls in sorted(letters.items())]


class ClientForm(forms.Form):
    name = TextField(max_length=120, label="Name", help_text="The system that will call the API (e.g. the "
                                                             "registry's data warehouse).")
    scopes = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple, label="Scopes",
                                       error_messages={"required": "Grant at least one scope."})
    keys = TextField(max_length=20000, multiline=True, label="Public key",
                     help_text="A JWK Set (JSON) or a PEM public key (openssl ec -pubout / openssl rsa -pubout): "
                               "RS384 (RSA, 2048 bits or more) or ES384 (EC P-384). Never the private key.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()

    def clean_scopes(self) -> list[str]:
        return scopes_from(self.cleaned_data["scopes"])

    def grid(self) -> list[dict]:
        """The scope checkboxes as rows (one per resource type) of (value, checked) cells, for the template."""
        picked = set(self.data.getlist("scopes")) if self.is_bound else set()
        return [{"type": "every type (*)" if t == "*" else t,
                 "cells": [(f"{t}:{letter}", f"{t}:{letter}" in picked) for letter, _ in INTERACTIONS]}
                for t in ("*", *resource_types())]


class RevokeForm(forms.Form):
    """Revoking takes no input: the button is the confirmation."""
