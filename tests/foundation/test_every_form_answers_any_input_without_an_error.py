"""Whatever is typed into any form of the project, the form answers with its values or with messages: never an
exception. Hypothesis fills every field of every form (walked from each app's ``forms`` module, so a new form is
included without being listed) with random text (any Unicode, control characters, other scripts' digits, signs,
pastes thousands of characters long) or with a well-formed value for the field's kind, and validates the whole
form (its own ``clean()`` included) where the form is built from the posted data alone; a form whose constructor
needs its page's context (a session, a patient: 34 of 103 today) has its fields cleaned one by one. The counts show
both paths ran: forms accepted whole, and fields refused with a message.

tests/foundation/test_input_boundary_hypothesis.py drives the same kind of input through a few forms' pages to
the database; this file reaches every form."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import Counter

import pytest
from django import forms
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ketaclinic

pytestmark = pytest.mark.django_db

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.just("\x7f")
ODD = st.sampled_from(list("١٢٣٠۱۲३१２３²³¹_+-.,eE:/T "))
RANDOM_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]) | CONTROL | ODD, max_size=40),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=300, max_size=5000),
)


def every_form() -> list[type[forms.BaseForm]]:
    found = []
    for info in pkgutil.walk_packages(ketaclinic.__path__, "ketaclinic."):
        if not info.name.endswith(".forms"):
            continue
        module = importlib.import_module(info.name)
        for form in vars(module).values():
            if inspect.isclass(form) and issubclass(form, forms.BaseForm) and form.__module__ == module.__name__ \
                    and form.base_fields and not inspect.isabstract(form):
                found.append(form)
    return sorted(found, key=lambda f: f"{f.__module__}.{f.__name__}")


FORMS = every_form()


def well_formed(field: forms.Field) -> st.SearchStrategy:
    """A value a person could mean for this kind of field (often accepted; a form may still refuse it in context)."""
    if isinstance(field, forms.ModelChoiceField):
        return st.sampled_from(["1", "2", ""])
    choices = [str(value) for value, _ in getattr(field, "choices", []) or [] if value not in ("", None)]
    if choices:
        return st.sampled_from(choices)
    if isinstance(field, forms.BooleanField):
        return st.sampled_from(["on", ""])
    if isinstance(field, (forms.DateTimeField,)):
        return st.dates().map(lambda d: f"{d.isoformat()}T09:30")
    if isinstance(field, forms.TimeField):
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if isinstance(field, forms.DateField):
        return st.dates().map(lambda d: d.isoformat())
    if isinstance(field, forms.EmailField):
        return st.sampled_from(["pat@example.org", "front.desk@clinic.example"])
    name = type(field).__name__
    if "Decimal" in name or "Float" in name:
        return st.decimals(min_value=0, max_value=500, places=1, allow_nan=False).map(str)
    if "Number" in name or "Integer" in name or "Id" in name:
        return st.integers(min_value=0, max_value=300).map(str)
    return st.text(st.characters(whitelist_categories=["Lu", "Ll", "Nd", "Zs"]), min_size=1, max_size=30)


def values_for(form: type[forms.BaseForm]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({name: st.one_of(RANDOM_TEXT, well_formed(field), st.just(""))
                                  for name, field in form.base_fields.items()})


def needs_context(form: type[forms.BaseForm]) -> bool:
    """True for a form whose constructor asks for more than the posted data (a patient, a session, a clinic)."""
    for cls in form.__mro__:  # a subclass may pass **kwargs on to a parent that asks for them
        if "__init__" not in vars(cls) or cls.__module__.startswith("django."):
            continue
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        if any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and p.name != "data" for p in params):
            return True
    return False


def bind(form: type[forms.BaseForm], data: dict[str, str]) -> forms.BaseForm | None:
    """The form bound to ``data``, or None for a form that needs its page's context to be built (such forms'
    fields are still cleaned one by one). A TypeError inside a form's constructor is not swallowed."""
    if needs_context(form):
        return None
    bound = form(data)
    if any(isinstance(f, forms.ModelChoiceField) and f.queryset is None for f in bound.fields.values()):
        return None  # its choices come from the page that builds it
    return bound


def test_the_walk_reaches_the_forms_of_every_area():
    areas = {f.__module__.split(".")[1] for f in FORMS}
    assert {"accounts", "billing", "clinic", "custody", "integration", "measures", "patients", "portal",
            "scheduling", "screening", "treatments"} <= areas, areas
    assert len(FORMS) > 60


def answer_any_input(form: type[forms.BaseForm], outcomes: Counter[str]) -> None:
    """Hypothesis fills ``form`` a dozen ways; an exception other than a field's refusal fails the test."""

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(values_for(form))
    def check(data):
        bound = bind(form, data)
        if bound is not None:
            ok = bound.is_valid()  # the whole form: fields, then its clean()
            outcomes["form accepted" if ok else "form refused"] += 1
            event(f"{form.__name__} {'accepted' if ok else 'refused'}")
        fields = bound.fields if bound is not None else form.base_fields
        for name, field in fields.items():
            if isinstance(field, forms.ModelChoiceField) and field.queryset is None:
                continue  # its choices come from the page (set when the page builds the form)
            try:
                field.clean(field.widget.value_from_datadict(data, {}, name))
            except forms.ValidationError as e:
                assert e.messages and all(m.strip() for m in e.messages), f"{name}: a refusal without a message"
                outcomes["field refused"] += 1
            else:
                outcomes["field accepted"] += 1

    check()


def test_any_input_to_any_form_is_answered_not_raised_and_both_paths_run():
    """Over every form: no exception; fields refused and accepted each in at least 30 % of the field checks, and
    whole forms both accepted and refused (a test that only ever refuses proves little)."""
    outcomes: Counter[str] = Counter()
    for form in FORMS:
        answer_any_input(form, outcomes)
    checks = outcomes["field refused"] + outcomes["field accepted"]
    assert outcomes["field refused"] / checks >= 0.3, outcomes
    assert outcomes["field accepted"] / checks >= 0.3, outcomes
    forms_bound = outcomes["form accepted"] + outcomes["form refused"]
    whole = [f for f in FORMS if not needs_context(f)]
    assert len(whole) >= 60, len(whole)  # most forms are validated whole, not only field by field
    assert forms_bound >= 12 * (len(whole) - 5), outcomes
    assert outcomes["form accepted"] / forms_bound >= 0.05, outcomes
    print(dict(outcomes))
