"""Esketamine is for adults (label): a 16-year-old's consult is not eligible, whatever the clinic's age setting, and
no esketamine order can be written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ketaclinic.clinic.services import update_limits
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.services import TreatmentError
from tests.factories import ESK, actor, make_eligible


def test_no_esketamine_order_for_a_patient_under_18_even_with_the_age_setting_lowered(make_patient, staff, clinic,
                                                                                       clock):
    update_limits(actor=actor(staff["clinic_admin"]), clinic=clinic, values={"eligibility.min_age_years": 16})
    teen = make_patient(date_of_birth=clock.today() - timedelta(days=365 * 16 + 30))
    _, assessment = make_eligible(teen, staff, drug="esketamine")
    assert "esketamine_under_18" in {r["code"] for r in assessment.absolute_reasons}
    with pytest.raises(TreatmentError):
        treatments.write_order(actor=actor(staff["prescriber"]), patient=teen, data=ESK)
    assert not teen.treatment_orders.exists()
