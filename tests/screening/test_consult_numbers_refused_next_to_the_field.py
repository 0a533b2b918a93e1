"""Security review: absurd numbers typed into the consult are messages next to the field, never a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.screening import services
from ketaclinic.screening.services import ScreeningError
from tests.treatments.factories import actor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field,value", [("weight_kg", "NaN"), ("weight_kg", "1e30"), ("weight_kg", "9" * 40),
                                         ("height_cm", "sNaN"), ("height_cm", "-Infinity"),
                                         ("baseline_systolic_mmHg", "9" * 40), ("baseline_heart_rate_bpm", "1e3")])
def test_absurd_intake_numbers_are_refused_with_a_message(patient, staff, field, value):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    with pytest.raises(ScreeningError) as e:
        services.update_intake(actor=actor(staff["nurse"]), consult=consult, data={"diagnoses": ["F33.2"],
                                                                                   field: value})
    assert field in e.value.errors
    consult.refresh_from_db()
    assert consult.diagnoses == []


def test_intake_page_with_nan_weight_shows_a_message(patient, staff, client_for):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    c = client_for("nurse")
    c.raise_request_exception = False
    r = c.post(reverse("screening:intake", args=[consult.external_id]), {"weight_kg": "NaN"}, follow=True)
    assert r.status_code == 200 and "Weight (kg) must be" in r.content.decode()


@pytest.mark.parametrize("weeks", ["NaN", "1e-1000", "1e400", "9" * 40])
def test_absurd_trial_weeks_are_refused(patient, staff, weeks):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    with pytest.raises(ScreeningError) as e:
        services.add_trial(actor=actor(staff["nurse"]), consult=consult, drug="sertraline", dose="100 mg",
                           weeks=weeks, adequate_dose=True, outcome="no_response")
    assert "weeks" in e.value.errors
    assert not consult.trials.exists()


def test_plain_intake_numbers_still_save(patient, staff):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    consult = services.update_intake(actor=actor(staff["nurse"]), consult=consult, data={
        "weight_kg": "70,5", "height_cm": "170.25", "baseline_systolic_mmHg": "122", "baseline_diastolic_mmHg": "78"})
    assert str(consult.weight_kg) == "70.50" and consult.baseline_systolic_mmHg == 122




def test_intake_weight_follows_the_clinical_cores_range_like_the_registry(patient, staff, clinic):
    """A weight the dose maths would refuse (below dosing.min_weight_kg) is refused at intake too."""
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    low = clinic.limits()["dosing.min_weight_kg"]
    with pytest.raises(ScreeningError) as e:
        services.update_intake(actor=actor(staff["nurse"]), consult=consult, data={"weight_kg": str(low - 1)})
    assert "weight_kg" in e.value.errors
    clinic.clinical_settings = {"dosing.min_weight_kg": low - 5}
    clinic.save()
    consult = services.update_intake(actor=actor(staff["nurse"]), consult=consult, data={"weight_kg": str(low - 1)})
    assert consult.weight_kg == low - 1
