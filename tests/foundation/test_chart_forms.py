"""The chart's entry forms (weight and height, diagnoses, entered in error) read their POST through
patients/forms.py. A refused entry shows the chart again with the message next to the field; nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.patients import services
from ketaclinic.patients.models import BodyMeasurement


def _url(name, patient, **kw):
    return reverse(f"patients:{name}", kwargs={"external_id": patient.external_id, **kw})


def _error_next_to(body: str, field_id: str) -> str:
    """The error message tied to the field ``field_id`` (its aria-describedby), shown inside the field's label."""
    tag = body[body.rindex("<", 0, body.index(f'id="{field_id}"')):]
    tag = tag[:tag.index(">")]
    described_by = tag.split('aria-describedby="')[1].split('"')[0].split()
    assert f"{field_id}_error" in described_by and 'aria-invalid="true"' in tag
    start = body.index(f'id="{field_id}_error"')
    return body[start:body.index("</span>", start)]


@pytest.mark.parametrize("weight", ["1e3", "NaN", "seventy", "70.5.1", "-70"])
def test_a_weight_that_is_not_a_plain_number_is_refused_next_to_the_field(client_for, patient, weight):
    response = client_for("nurse").post(_url("add_measurement", patient), {"unit": "metric", "weight": weight})
    assert response.status_code == 200
    assert "Weight" in _error_next_to(response.content.decode(), "id_weight")
    assert not BodyMeasurement.objects.exists()
    assert not AuditEntry.objects.filter(action="patient.measurement.recorded").exists()


def test_an_implausible_weight_is_refused_next_to_the_field_with_the_range(client_for, patient):
    response = client_for("nurse").post(_url("add_measurement", patient), {"unit": "metric", "weight": "900"})
    assert response.status_code == 200
    assert "not a plausible adult weight" in _error_next_to(response.content.decode(), "id_weight")
    assert 'value="900"' in response.content.decode()  # what was typed stays, to correct it
    assert not BodyMeasurement.objects.exists()


def test_an_empty_measurement_asks_for_a_weight_or_height(client_for, patient):
    response = client_for("front_desk").post(_url("add_measurement", patient), {"unit": "metric", "weight": " "})
    assert response.context["measurement_form"].errors["weight"] == ["Enter a weight, a height or both."]
    assert not BodyMeasurement.objects.exists()


def test_a_good_measurement_still_redirects_to_the_chart(client_for, patient):
    response = client_for("nurse").post(_url("add_measurement", patient), {"unit": "metric", "weight": "70,5"})
    assert response.status_code == 302
    assert BodyMeasurement.objects.get().weight_kg == 70.5


def test_a_diagnosis_outside_the_list_is_refused_next_to_the_field(client_for, patient):
    response = client_for("prescriber").post(_url("add_diagnosis", patient), {"code": "Z99.99"})
    assert response.status_code == 200
    assert "Choose a diagnosis from the list." in _error_next_to(response.content.decode(), "id_code")
    assert not patient.diagnoses.exists()


def test_a_duplicate_diagnosis_is_refused_next_to_the_field(client_for, actor_for, patient):
    services.add_diagnosis(actor=actor_for("prescriber"), patient=patient, code="F33.2")
    response = client_for("prescriber").post(_url("add_diagnosis", patient), {"code": "F33.2"})
    assert "already an active diagnosis" in _error_next_to(response.content.decode(), "id_code")
    assert patient.diagnoses.count() == 1


def test_entered_in_error_needs_a_reason_next_to_that_diagnosis(client_for, actor_for, patient):
    dx = services.add_diagnosis(actor=actor_for("prescriber"), patient=patient, code="F33.2")
    response = client_for("prescriber").post(_url("diagnosis_error", patient, pk=dx.pk), {"reason": "   "})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Say why this diagnosis was entered in error." in body[body.index(f'id="dx-{dx.pk}-reason-error"'):][:200]
    dx.refresh_from_db()
    assert dx.status == "active"
    assert not AuditEntry.objects.filter(action="patient.diagnosis.entered_in_error").exists()
