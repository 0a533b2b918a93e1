"""Scale names are written one way wherever a user reads them: the clinical core's name ("PHQ-9", "QIDS-SR16",
"C-SSRS Screener"), never a stored code ("phq9", "PHQ9", "QIDS_SR16")."""

from __future__ import annotations

import re

from django.urls import reverse

from ketaclinic.screening import services
from tests.factories import actor


def test_the_consult_lists_its_baseline_scales_by_their_clinical_names(patient, staff, client_for):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    services.record_scale(actor=actor(staff["nurse"]), consult=consult, scale="phq9",
                          answers={f"q{i}": 1 for i in range(1, 10)} | {"q9": 0})
    services.record_scale(actor=actor(staff["nurse"]), consult=consult, scale="gad7",
                          answers={f"q{i}": 1 for i in range(1, 8)})
    body = client_for("nurse").get(reverse("screening:detail", args=[consult.external_id])).content.decode()
    assert "<b>PHQ-9</b> 8" in body and "<b>GAD-7</b> 7" in body
    assert "PHQ9" not in body and "GAD7" not in body


def test_the_measures_schedule_names_the_default_scales_as_the_clinical_core_does(patient, client_for):
    body = client_for("nurse").get(reverse("measures:schedule", args=[patient.external_id])).content.decode()
    defaults = re.search(r"Defaults: ([^(]*)\(", body).group(1)
    assert "PHQ-9" in defaults and "phq9" not in defaults and "gad7" not in defaults
