"""The discharge sheet and the Spravato REMS form print patients' and staff members' names as written, whatever
their script (DejaVu Sans embedded), instead of the '?' the latin-1 core fonts left in their place."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.treatments import services
from tests.named_staff import named_staff
from tests.pdfread import pdf_text
from tests.treatments.factories import ESK, IV, actor, book_now, checked_in, make_order, ready_to_start


@pytest.fixture
def staff(make_user, clinic) -> dict:
    """One user per role; the prescriber and the nurse have names that latin-1 cannot spell."""
    return named_staff(make_user)


def test_discharge_sheet_prints_the_patients_and_escorts_names(make_patient, staff, rooms, client_for):
    patient = make_patient(legal_given_name="Thị Ánh", legal_family_name="Nguyễn")
    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={
        "identity_confirmed": True, "fasting_confirmed": True,
        "no_driving_acknowledged": True, "weight_kg": "70.0", "pregnancy_test": "negative",
        "escort_name": "Siobhán O’Brien-Müller", "escort_phone": "(303) 555-0111"})

    response = client_for("nurse").get(reverse("treatments:discharge_pdf", args=[s.external_id]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"Patient Thị Ánh Nguyễn (MRN {patient.mrn})" in text
    assert "Going home with Siobhán O’Brien-Müller (303) 555-0111" in text
    assert "?" not in text and "\ufffd" not in text


def test_rems_form_prints_the_patient_the_monitoring_nurse_and_the_prescriber(make_patient, staff, rooms,
                                                                              client_for):
    patient = make_patient(legal_given_name="Siobhán", legal_family_name="O’Brien-Müller")
    s = ready_to_start(book_now(make_order(patient, staff, ESK), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)  # opens the session's REMS form

    response = client_for("nurse").get(reverse("treatments:rems_pdf", args=[s.external_id]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"Patient Siobhán O’Brien-Müller DOB {patient.date_of_birth:%Y-%m-%d}" in text
    assert "Monitoring HCP Zofia Żółć, RN" in text
    assert "Prescriber Søren Ørsted, MD" in text
    assert "Exported by Zofia Żółć, RN." in text
