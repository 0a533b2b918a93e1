"""Schemathesis drives every operation of the JSON API (its own OpenAPI document) with generated input, valid and
invalid, as a signed-in nurse: no answer is a server error, and every answer matches the schema the API publishes
(status codes, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from ketaclinic.wsgi import application

#: Cases generated per operation and mode (valid input, then input that breaks the schema).
EXAMPLES = 50


@pytest.fixture
def nurse(client_for, patient):
    return client_for("nurse")


@pytest.fixture
def api_schema(nurse):
    """The API's own OpenAPI document, as a signed-in nurse reads it, driven in process through the WSGI app."""
    document = nurse.get("/api/v1/openapi.json").json()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    loaded.location = "/api/v1/openapi.json"
    return loaded


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_api_operation_answers_within_its_schema(api_schema, nurse, mode):
    cookies = {django_settings.SESSION_COOKIE_NAME: nurse.cookies[django_settings.SESSION_COOKIE_NAME].value}
    calls = {"cases": 0, "server_errors": 0, "2xx": 0, "4xx": 0}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 2  # patient search and patient detail

    # Called straight through WSGI (not Django's test client), each request would close the test's database
    # connection at its end, as in production; the test client disconnects that handler, and so does this test.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _drive_all(operations, mode, cookies, calls)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert calls["server_errors"] == 0
    assert calls["cases"] >= len(operations) * 10, calls
    # both kinds of answer are exercised: valid input is served, input that breaks the schema is refused (422)
    assert calls["2xx" if mode == GenerationMode.POSITIVE else "4xx"] >= calls["cases"] * 0.3, calls


def _drive_all(operations, mode, cookies, calls) -> None:
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode, cookies=cookies))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.filter_too_much])
        def drive(case):
            response = case.call()
            calls["cases"] += 1
            calls["server_errors"] += response.status_code >= 500
            calls["2xx" if response.status_code < 300 else "4xx"] += response.status_code < 500
            case.validate_response(response)

        drive()
