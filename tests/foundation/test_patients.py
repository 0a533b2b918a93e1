from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.patients import services
from ketaclinic.patients.models import BodyMeasurement, Patient, mrn_check_digit

FORM = {
    "legal_given_name": "Jordan", "legal_family_name": "Testwood", "preferred_name": "Jo", "date_of_birth": "1979-06-30",
    "sex_at_birth": "male", "gender_identity": "Man", "phone": "(303) 555-0142", "email": "jordan@example.invalid",
    "state": "co", "escort_name": "Pat Testwood", "escort_phone": "(303) 555-0143", "allergies": "NKDA",
}


def test_front_desk_registers_a_patient(client_for):
    response = client_for("front_desk").post(reverse("patients:register"), FORM)
    assert response.status_code == 302
    patient = Patient.objects.get(legal_family_name="Testwood")
    assert response["Location"] == reverse("patients:chart", kwargs={"external_id": patient.external_id})
    assert patient.state == "CO"
    assert patient.mrn.startswith("KC") and len(patient.mrn) == 10
    assert int(patient.mrn[-1]) == mrn_check_digit(patient.mrn[2:-1])
    entry = AuditEntry.objects.get(action="patient.registered")
    assert entry.patient == patient and entry.actor.username == "front_desk"


def test_mrns_are_unique_and_sequential(make_patient):
    a, b = make_patient(), make_patient()
    assert a.mrn != b.mrn and int(b.mrn[2:-1]) == int(a.mrn[2:-1]) + 1


@pytest.mark.parametrize("born,message", [("tomorrow", "future"), ("1850-01-01", "more than 120 years")])
def test_impossible_date_of_birth_is_refused(client_for, clock, born, message):
    dob = (clock.today() + timedelta(days=1)).isoformat() if born == "tomorrow" else born  # the clinic's tomorrow
    response = client_for("front_desk").post(reverse("patients:register"), {**FORM, "date_of_birth": dob})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.exists()


def test_duplicate_registration_needs_confirmation(client_for):
    c = client_for("front_desk")
    c.post(reverse("patients:register"), FORM)
    response = c.post(reverse("patients:register"), {**FORM, "legal_family_name": "TESTWOOD"})
    assert response.status_code == 200
    assert "already registered" in response.content.decode()
    assert Patient.objects.count() == 1
    response = c.post(reverse("patients:register"), {**FORM, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_edit_is_audited_with_the_old_value(client_for, patient):
    old_phone = patient.phone
    data = {f: getattr(patient, f) for f in services.PATIENT_FIELDS}
    data.update({"phone": "(720) 555-0199", "date_of_birth": patient.date_of_birth.isoformat()})
    response = client_for("nurse").post(reverse("patients:edit", kwargs={"external_id": patient.external_id}), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "(720) 555-0199"
    entry = AuditEntry.objects.get(action="patient.updated")
    assert entry.details["changes"]["phone"] == {"old": old_phone, "new": "(720) 555-0199"}
    assert entry.actor.username == "nurse" and entry.roles == "nurse"


def test_weight_in_pounds_converts_and_shows_both(client_for, patient):
    url = reverse("patients:add_measurement", kwargs={"external_id": patient.external_id})
    response = client_for("nurse").post(url, {"unit": "imperial", "weight": "154", "height": "68"}, follow=True)
    m = BodyMeasurement.objects.get(patient=patient)
    assert m.weight_kg == Decimal("69.85")  # 154 lb × 0.45359237 = 69.853 kg
    assert m.height_cm == Decimal("172.7")  # 68 in × 2.54 = 172.72 cm
    assert m.entered_weight == Decimal("154")
    body = response.content.decode()
    assert "69.85 kg" in body and "154.0 lb" in body


@pytest.mark.parametrize("unit,weight,height,field", [
    ("metric", "0", "", "weight"), ("metric", "900", "", "weight"), ("metric", "", "20", "height"),
    ("imperial", "1500", "", "weight"),
])
def test_impossible_measurements_are_refused(actor_for, patient, unit, weight, height, field):
    with pytest.raises(services.RegistryError) as err:
        services.record_measurement(actor=actor_for("nurse"), patient=patient, unit=unit,
                                    weight=Decimal(weight) if weight else None, height=Decimal(height) if height else None)
    assert field in err.value.errors
    assert not BodyMeasurement.objects.exists()


def test_search_by_name_mrn_and_dob(make_patient, clinic):
    jane = make_patient(legal_given_name="Jane", legal_family_name="Doe-Demo", date_of_birth=date(1990, 2, 3))
    make_patient(legal_given_name="John", legal_family_name="Dough", date_of_birth=date(1970, 1, 1))
    assert list(services.search(clinic, "doe")) == [jane]
    assert list(services.search(clinic, "Doe, Ja")) == [jane]
    assert list(services.search(clinic, "jane doe")) == [jane]
    assert list(services.search(clinic, jane.mrn)) == [jane]
    assert list(services.search(clinic, "1990-02-03")) == [jane]
    assert list(services.search(clinic, "02/03/1990")) == [jane]
    assert {p.legal_given_name for p in services.search(clinic, "do")} == {"Jane", "John"}
    assert list(services.search(clinic, "zzz")) == []


def test_search_page_and_htmx_partial(client_for, patient):
    c = client_for("front_desk")
    full = c.get(reverse("patients:search"), {"q": patient.legal_family_name})
    assert patient.mrn in full.content.decode() and "<html" in full.content.decode()
    partial = c.get(reverse("patients:search"), {"q": patient.legal_family_name}, HTTP_HX_REQUEST="true")
    assert patient.mrn in partial.content.decode() and "<html" not in partial.content.decode()


def test_chart_view_is_audited(client_for, patient):
    client_for("therapist").get(reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    entry = AuditEntry.objects.filter(action="patient.chart.viewed").latest("seq")
    assert entry.patient == patient and entry.actor.username == "therapist"
    assert entry.client_ip == "127.0.0.1"


def test_diagnosis_from_builtin_list_and_entered_in_error(client_for, patient):
    c = client_for("prescriber")
    url = reverse("patients:add_diagnosis", kwargs={"external_id": patient.external_id})
    c.post(url, {"code": "F33.2"})
    dx = patient.diagnoses.get()
    assert dx.label and "recurrent" in dx.label.lower()
    c.post(url, {"code": "Z99.99"})
    assert patient.diagnoses.count() == 1
    c.post(reverse("patients:diagnosis_error", kwargs={"external_id": patient.external_id, "pk": dx.pk}),
           {"reason": "wrong patient"})
    dx.refresh_from_db()
    assert dx.status == "entered-in-error" and dx.code == "F33.2"  # kept, not deleted


def test_unknown_patient_is_404(client_for):
    import uuid

    response = client_for("nurse").get(reverse("patients:chart", kwargs={"external_id": uuid.uuid4()}))
    assert response.status_code == 404


def _chart_queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_chart_query_count_does_not_grow_with_history(client_for, patient, actor_for, staff):
    c = client_for("prescriber")
    services.add_diagnosis(actor=actor_for("prescriber"), patient=patient, code="F33.2")
    services.record_measurement(actor=actor_for("nurse"), patient=patient, unit="metric", weight=Decimal("70"),
                                height=Decimal("170"))
    c.get(reverse("patients:chart", kwargs={"external_id": patient.external_id}))  # warm caches
    small = _chart_queries(c, patient)
    now = timezone.now()
    BodyMeasurement.objects.bulk_create([
        BodyMeasurement(patient=patient, measured_at=now - timedelta(days=i), weight_kg=Decimal("70") + i % 3,
                        recorded_by=staff["nurse"]) for i in range(1, 60)
    ])
    for code in ("F41.1", "F43.12", "R45.851"):
        services.add_diagnosis(actor=actor_for("prescriber"), patient=patient, code=code)
    large = _chart_queries(c, patient)
    # +1: Appointments; +2: the care team and the staff it may add (a prescriber reads this chart); +1: whether the
    # patient has an active portal account (the secure-messages section offers writing only then); +1: the patient's
    # latest research consent decision
    assert small == large == 27, f"chart page: {small} queries, {large} with two months of history"


def test_search_page_query_budget(client_for, make_patient):
    for _ in range(30):
        make_patient(legal_family_name="Mockridge")
    c = client_for("front_desk")
    with CaptureQueriesContext(connection) as ctx:
        response = c.get(reverse("patients:search"), {"q": "mockridge"})
    assert response.status_code == 200
    assert len(ctx.captured_queries) == 14  # 3 index-seek branches for a one-word name
