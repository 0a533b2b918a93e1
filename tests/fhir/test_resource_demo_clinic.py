"""Every resource the facade would send for the whole demo clinic (manage.py seed_demo: IV, IM and esketamine
series, titration, transfers, integration sessions, consults, score histories, entered-in-error records): each
parsed back by fhir.resources and passing validate.py, ids unique, and a sample of each source read back by id.

The whole clinic is read as the bulk export reads it (documents named, not drawn); the sample of each source is
also read as a search reads it, so a drawn document's size and hash are checked too."""

from __future__ import annotations

import importlib
import json
from collections import Counter

import pytest

from ketaclinic.clinic.models import Clinic
from ketaclinic.fhir import documents, validate
from ketaclinic.fhir.registry import TYPES
from tests.demo_world import demo_world


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_world(django_db_blocker, patients=12):
        yield Clinic.objects.filter(is_demo=True).order_by("pk").first()


def problems_of(model, resource) -> list[str]:
    """What validate.py finds in the resource once written; parsed back, the JSON gives the same resource (every
    field equal: the model's own comparison, a second serialisation of each of the clinic's resources took a third
    of the test's time)."""
    text = resource.model_dump_json(exclude_none=True)
    assert type(resource) is model and model.model_validate_json(text) == resource, text
    return [f"{resource.__resource_type__}/{resource.id}: {p}" for p in validate.problems(json.loads(text))]


@pytest.mark.django_db
def test_every_resource_of_the_demo_clinic_is_valid_fhir(demo):
    counts: Counter = Counter()
    problems = []
    drawn: Counter = Counter()
    for name, rt in TYPES.items():
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{name.lower()}"), name)
        ids = set()
        sampled: Counter = Counter()
        as_exported = documents.DRAW.set(False)
        try:
            rows = list(rt.rows(demo.pk))
            resources = [(row, resource) for row in rows for resource in rt.to_fhir(row)]
        finally:
            documents.DRAW.reset(as_exported)
        for row, resource in resources:
            problems += problems_of(model, resource)
            assert resource.id not in ids, f"{name}/{resource.id} twice"
            ids.add(resource.id)
            counts[name] += 1
            source = rt.source_of(row).key
            if sampled[source] < 3:
                sampled[source] += 1
                again = rt.find(demo.pk, resource.id)
                assert again is not None, f"{name}/{resource.id} not found by its id"
                for searched in rt.to_fhir(again):
                    problems += problems_of(model, searched)
                    attachment = searched.content[0].attachment if name == "DocumentReference" else None
                    if attachment and attachment.hash and attachment.size:
                        drawn[searched.type.coding[0].code] += 1
    print(dict(counts), drawn)
    assert problems == []
    assert {n for n in TYPES if counts[n] == 0} == set(), counts
    assert drawn == {"session-record": 3, "superbill": 3, "rems-form": 3}  # three of each kind of PDF drawn
