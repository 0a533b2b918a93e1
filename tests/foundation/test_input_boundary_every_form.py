"""Every text field of every form of the project: a length checked before the database, and no control characters
(formfields.TextField). Django's own CharField only refuses NUL and needs no length, so no form may use one for
text: every area's forms are strict, and a new loose field fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms

import ketaclinic
from ketaclinic.formfields import TextField

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
                 if not strict(field))
    assert new == [], ("text fields without a length or a control-character check (use formfields.TextField or "
                       "note_field):\n" + "\n".join(new))


@pytest.mark.parametrize("area", ["accounts", "audit", "clinic", "custody", "integration", "measures", "patients",
                                  "portal", "scheduling", "screening"])
def test_every_area_with_text_fields_is_checked(area):
    """The walk over form modules reaches each area that has text fields (a rename cannot hide one)."""
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
