"""Whatever a client sends as search parameters, the answer is a result or a clear OperationOutcome (400, or 406
for a format we do not serve), never a server error; a refused request names the parameter it refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir.conftest import bearer

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NAMES = st.sampled_from(["patient", "subject", "code", "category", "date", "_lastUpdated", "_count", "_offset",
                         "_include", "_format", "_id", "identifier", "code:text", "date:missing", "_sort", "_summary",
                         "_elements", "value-quantity"]) | st.text(min_size=1, max_size=12)
VALUES = (st.text(max_size=40)
          | st.sampled_from(["ge2026-06-17", "lt2026-06", "2026", "eq2026-06-17T10:00:00Z", "ne2026-06-17T10:00",
                             "2026-02-29", "99999", "-1", "٢٠٢٦-٠٦-١٧", "00000000-0000-0000-0000-000000000000",
                             "http://loinc.org|8867-4", "|", "Patient/", "Observation:patient", "xml", "1e3"])
          # the edges of the calendar, where a span or a time-zone shift leaves the years 1 to 9999
          | st.builds(lambda prefix, day, time, offset: f"{prefix}{day}{time}{offset if time else ''}",
                      st.sampled_from(["", "eq", "ne", "lt", "le", "gt", "ge"]),
                      st.sampled_from(["9999-12-31", "9999-12", "9999", "0001-01-01", "0001-01", "0001"]),
                      st.sampled_from(["", "T00:00:00", "T23:59:59", "T23:59"]),
                      st.sampled_from(["", "Z", "+14:00", "-14:00", "+00:00"])))


@pytest.fixture
def token(fhir_token, clinic, patient):
    return fhir_token(clinic)


@EXAMPLES
@given(params=st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=4),
       rtype=st.sampled_from(["Observation", "Patient", "Condition", "Encounter", "AuditEvent"]))
def test_any_parameters_give_a_result_or_an_operation_outcome(client, token, params, rtype):
    from urllib.parse import urlencode

    response = client.get(f"/fhir/R4/{rtype}?{urlencode(params)}", **bearer(token))
    assert response.status_code in (200, 400, 406), (params, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/fhir+json")
    data = json.loads(response.content)
    if response.status_code == 200:
        assert data["resourceType"] == "Bundle"
    else:
        assert data["resourceType"] == "OperationOutcome"
        issue = data["issue"][0]
        assert issue["severity"] == "error" and issue["diagnostics"]
        assert issue["expression"][0] in {name for name, _ in params}


@pytest.mark.parametrize("value", ["٢٠٢٦-٠٦-١٧", "２０２６"])
def test_digits_other_than_0_to_9_are_not_a_date(client, token, value):
    response = client.get("/fhir/R4/Observation", {"date": value}, **bearer(token))
    assert response.status_code == 400


def test_a_control_character_is_refused(client, token):
    response = client.get("/fhir/R4/Condition", {"code": "F33.2\x00"}, **bearer(token))
    assert response.status_code == 400
    assert "control character" in json.loads(response.content)["issue"][0]["diagnostics"]


@pytest.mark.parametrize("name, value", [("date", "9999-12-31"), ("_lastUpdated", "9999-12-31"),
                                         ("date", "0001-01-01T00:00:00+14:00"), ("date", "le9999-12-31T23:59:59-14:00")])
def test_a_date_at_the_edge_of_the_calendar_is_refused_naming_the_parameter(client, token, name, value):
    response = client.get("/fhir/R4/Observation", {name: value}, **bearer(token))
    assert response.status_code == 400
    assert json.loads(response.content)["issue"][0]["expression"] == [name]


@pytest.mark.parametrize("rtype", ["Condition", "Observation", "MedicationAdministration"])
def test_an_id_with_a_huge_place_number_is_not_found(client, token, patient, rtype):
    for tag in ("dx", "v", "w"):
        response = client.get(f"/fhir/R4/{rtype}/{patient.external_id}-{tag}99999999999999999999", **bearer(token))
        assert response.status_code == 404, response.content[:300]
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("name, values", [("patient", ["A", "B"]), ("subject", ["A", "B"]), ("code", ["1", "2"]),
                                          ("category", ["vital-signs", "survey"]), ("_id", ["a", "b"]), ("identifier", ["KC1", "KC2"]),
                                          ("_count", ["1", "2"])])
def test_a_repeated_parameter_is_refused_not_read_as_or(client, token, clinic, patient, fhir_token, name, values):
    if name in ("patient", "subject"):
        values = [str(patient.external_id), "00000000-0000-4000-8000-000000000000"]
    rtype = "Patient" if name in ("_id", "identifier") else "Observation"
    response = client.get(f"/fhir/R4/{rtype}", {name: values}, **bearer(token))
    assert response.status_code == 400
    issue = json.loads(response.content)["issue"][0]
    assert issue["expression"] == [name] and "more than once" in issue["diagnostics"]


def test_comma_separated_values_still_mean_any_and_repeated_dates_a_range(client, token, patient):
    other = "00000000-0000-4000-8000-000000000000"
    assert client.get("/fhir/R4/Observation", {"patient": f"{patient.external_id},{other}"},
                      **bearer(token)).status_code == 200
    assert client.get("/fhir/R4/Observation", {"date": ["ge2020-01-01", "lt2030-01-01"]},
                      **bearer(token)).status_code == 200
    response = client.get("/fhir/R4/Observation", {"patient": str(patient.external_id),
                                                   "subject": str(patient.external_id)}, **bearer(token))
    assert response.status_code == 400
