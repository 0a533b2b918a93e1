"""A real FHIR client library (fhirpy's SyncFHIRClient) against the running server, used as a clinic's partner
system would: find the patient, read their vital signs and PHQ-9 scores, page through results, read the patient."""

from __future__ import annotations

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as ClientOutcome
from fhirpy.base.exceptions import ResourceNotFound

from ketaclinic.treatments.models import VitalsReading
from tests.fhir import resource_world
from tests.treatments.factories import make_rooms


@pytest.fixture
def fhir(live_server, fhir_token, clinic, patient, staff):
    world = resource_world.build(patient, staff, make_rooms(clinic))
    client = SyncFHIRClient(f"{live_server.url}/fhir/R4", authorization=f"Bearer {fhir_token(clinic)}",
                            extra_headers={"Accept": "application/fhir+json"})
    return client, world


def test_a_partner_system_reads_vital_signs_and_phq9_scores(fhir):
    client, world = fhir
    patient = world["session"].patient

    found = client.resources("Patient").search(identifier=patient.mrn).fetch()
    assert [p.id for p in found] == [str(patient.external_id)]
    read = client.reference("Patient", str(patient.external_id)).to_resource()
    assert read["birthDate"] == patient.date_of_birth.isoformat()
    assert read["name"][0]["family"] == patient.legal_family_name

    # Heart rates, two to a page: fetch_all follows our next links to the end.
    heart_rates = (client.resources("Observation").search(patient=str(patient.external_id),
                                                          code="http://loinc.org|8867-4").limit(2).fetch_all())
    expected = VitalsReading.objects.filter(session__patient=patient, heart_rate_bpm__isnull=False)
    assert sorted(o["valueQuantity"]["value"] for o in heart_rates) == sorted(r.heart_rate_bpm for r in expected)
    assert len({o.id for o in heart_rates}) == len(heart_rates) == expected.count()
    assert all(o["valueQuantity"]["unit"] == "/min" for o in heart_rates)

    bps = client.resources("Observation").search(patient=str(patient.external_id), code="85354-9").fetch_all()
    assert bps and all({c["code"]["coding"][0]["code"] for c in bp["component"]} == {"8480-6", "8462-4"}
                       for bp in bps)

    phq9 = client.resources("Observation").search(patient=str(patient.external_id),
                                                  code="http://loinc.org|44261-6").fetch_all()
    assert [o["valueInteger"] for o in phq9] == [world["phq"].total]


def test_the_client_sees_our_refusals_as_operation_outcomes(fhir):
    client, world = fhir
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "00000000-0000-0000-0000-000000000000").to_resource()
    with pytest.raises(ClientOutcome) as refused:
        client.resources("Observation").search(date="last-tuesday").fetch()
    assert "not a FHIR date" in str(refused.value)
