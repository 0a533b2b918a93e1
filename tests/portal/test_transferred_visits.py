"""A visit that ended in an emergency transfer is listed in the patient's visits with its status, without home
discharge instructions or a printable discharge PDF (none exists for it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import open_day

pytestmark = pytest.mark.django_db


def test_transferred_visit_is_listed_with_its_status_and_no_pdf(make_portal_patient, make_session):
    patient, client = make_portal_patient()
    home = make_session(patient, start=open_day(patient.clinic, -6))  # the clinic's working days
    moved = make_session(patient, start=open_day(patient.clinic, -1), end="transferred")
    body = client.get(reverse("portal:visits")).content.decode()
    assert "Transferred to emergency care" in body and "emergency care during this visit" in body
    assert reverse("portal:visit_pdf", args=[moved.external_id]) not in body
    assert reverse("portal:visit_pdf", args=[home.external_id]) in body  # the discharged visit keeps its PDF
    assert body.count("Discharge instructions") == 1
    # The transferred visit has no discharge-instructions PDF to download.
    assert client.get(reverse("portal:visit_pdf", args=[moved.external_id])).status_code == 404
