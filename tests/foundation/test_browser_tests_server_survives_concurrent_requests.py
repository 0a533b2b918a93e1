"""The browser tests' live server shares the test's in-memory SQLite connection (see
tests/live_server_one_request_at_a_time.py): requests that arrive together, as a polling page's do while a form is
posted, and the test's own reads and services (each in its own transaction, with its audit entry) must all be
answered, none with a server error, and every write kept once."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from ketaclinic.audit.services import verify_chain
from ketaclinic.patients.models import Patient


def _status(url: str, session: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_requests_that_arrive_together_are_all_answered(live_server, make_patient, staff):
    for n in range(5):
        make_patient(legal_given_name=f"Ann{n}", legal_family_name="Concurrent")
    browser = Client()
    browser.force_login(staff["front_desk"])
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"{live_server.url}/patients/?q=Concurrent"
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [pool.submit(_status, url, session) for _ in range(120)]
        reads = []
        for n in range(200):
            reads.append(Patient.objects.filter(legal_family_name="Concurrent").count())
            if n % 5 == 0:  # the test's own service calls: a transaction each, with its audit entry
                make_patient(legal_given_name=f"Bea{n}", legal_family_name="Meanwhile")
        statuses = [a.result() for a in answers]
    assert statuses == [200] * 120
    assert reads == [5] * 200
    assert Patient.objects.filter(legal_family_name="Meanwhile").count() == 40
    assert verify_chain() is None
    assert connection.vendor != "sqlite" or connection.execute_wrappers
