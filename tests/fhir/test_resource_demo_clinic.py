"""Every resource the facade would send for the whole demo clinic (manage.py seed_demo: IV, IM and esketamine
series, titration, transfers, integration sessions, consults, score histories, entered-in-error records): each
parsed back by fhir.resources and passing validate.py, ids unique, and a sample of each source read back by id."""

from __future__ import annotations

import importlib
import json
from collections import Counter

import pytest

from ketaclinic.clinic.models import Clinic
from ketaclinic.fhir import validate
from ketaclinic.fhir.registry import TYPES
from tests.demo_world import demo_world


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_world(django_db_blocker, patients=12):
        yield Clinic.objects.get(is_demo=True)


@pytest.mark.django_db
def test_every_resource_of_the_demo_clinic_is_valid_fhir(demo):
    counts: Counter = Counter()
    problems = []
    for name, rt in TYPES.items():
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{name.lower()}"), name)
        ids = set()
        sampled: Counter = Counter()
        for row in rt.rows(demo.pk):
            for resource in rt.to_fhir(row):
                text = resource.model_dump_json(exclude_none=True)
                data = json.loads(model.model_validate_json(text).model_dump_json(exclude_none=True))
                assert data == json.loads(text)
                problems += [f"{name}/{resource.id}: {p}" for p in validate.problems(data)]
                assert resource.id not in ids, f"{name}/{resource.id} twice"
                ids.add(resource.id)
                counts[name] += 1
                source = rt.source_of(row).key
                if sampled[source] < 3:
                    sampled[source] += 1
                    again = rt.find(demo.pk, resource.id)
                    assert again is not None, f"{name}/{resource.id} not found by its id"
    print(dict(counts))
    assert problems == []
    assert {n for n in TYPES if counts[n] == 0} == set(), counts
