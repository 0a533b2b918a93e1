"""Every text field of every form of the project: a length checked before the database, and no control characters
(formfields.TextField). Django's own CharField only refuses NUL and needs no length; the fields below that still
are one are listed with the area that owns them, and no new one may be added."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms

import ketaclinic
from ketaclinic.formfields import TextField

#: Text fields not yet a TextField, by the area that owns them (the input-boundary work of issue 17 changed only
#: its own areas: custody, patients, scheduling, the API). Each should become ``TextField(max_length=...)`` or
#: ``note_field(max_length=...)`` from ketaclinic/formfields.py, and then leave this list.
NOT_YET_STRICT = {
    "screening": {"IntakeForm.notes", "TrialForm.drug", "TrialForm.dose", "SignForm.override_reason",
                  "SignForm.reason"},
}
#: Text fields whose own parsing bounds them: a UUID, an e-mail address (Django's validator, 320 characters).
BOUNDED_BY_THEIR_TYPE = (forms.UUIDField,)


def text_fields():
    """(area, "Form.field", field) for every declared CharField-backed field of every form module's forms."""
    for info in pkgutil.walk_packages(ketaclinic.__path__, "ketaclinic."):
        if not info.name.endswith(".forms"):
            continue
        module = importlib.import_module(info.name)
        area = info.name.split(".")[1]
        for form_name, form in vars(module).items():
            if not (inspect.isclass(form) and issubclass(form, forms.BaseForm) and form.__module__ == module.__name__):
                continue
            for name, field in form.base_fields.items():
                if isinstance(field, forms.CharField) and not isinstance(field, BOUNDED_BY_THEIR_TYPE):
                    yield area, f"{form_name}.{name}", field


def strict(field) -> bool:
    if field.max_length is None:
        return False
    try:
        field.clean("a\x01b")
    except forms.ValidationError:
        return isinstance(field, (TextField, forms.EmailField))
    return False


def test_every_text_field_has_a_length_and_refuses_control_characters():
    found = list(text_fields())
    assert len(found) > 100
    new = sorted(f"{area}: {name}" for area, name, field in found
                 if not strict(field) and name not in NOT_YET_STRICT.get(area, set()))
    assert new == [], ("text fields without a length or a control-character check (use formfields.TextField or "
                       "note_field):\n" + "\n".join(new))


@pytest.mark.parametrize("area", ["custody", "patients", "scheduling"])
def test_the_areas_already_converted_have_no_exception(area):
    assert area not in NOT_YET_STRICT
    assert any(a == area for a, _, _ in text_fields())


def test_every_text_field_refuses_nul_which_postgresql_cannot_store():
    """Django's CharField refuses NUL (ProhibitNullCharactersValidator); a form's NUL is never a server error."""
    let_through = []
    for area, name, field in text_fields():
        try:
            field.clean("a\x00b")
        except forms.ValidationError:
            continue
        let_through.append(f"{area}: {name}")
    assert let_through == []
