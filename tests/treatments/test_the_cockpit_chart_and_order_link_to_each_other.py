"""From the cockpit a nurse reaches the patient's chart and the order; from the order, each session's cockpit; and
once the patient has gone, the cockpit says when the dose started instead of a clock still running. Who sees each
link follows the access policy (tests/foundation/test_links_follow_the_policy.py checks every link shown)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import book_now, dosed_session, make_order

pytestmark = pytest.mark.django_db


def test_the_cockpit_links_to_the_chart_and_the_order_and_the_order_to_the_cockpit(patient, staff, rooms,
                                                                                      client_for):
    s = book_now(make_order(patient, staff), staff, rooms)
    cockpit = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert f'href="{reverse("patients:chart", args=[patient.external_id])}"' in cockpit
    assert f'href="{reverse("treatments:order", args=[s.order.external_id])}">Order</a>' in cockpit
    cockpit_link = f'href="{reverse("treatments:cockpit", args=[s.external_id])}"'
    assert cockpit_link in client_for("nurse").get(reverse("treatments:order", args=[s.order.external_id])).content.decode()
    # the front desk books from the order page but does not open the cockpit
    assert cockpit_link not in client_for("front_desk").get(
        reverse("treatments:order", args=[s.order.external_id])).content.decode()


def test_after_discharge_the_cockpit_shows_when_the_dose_started_not_a_running_clock(patient, make_patient, staff,
                                                                                       rooms, client_for):
    s = dosed_session(patient, staff, rooms=rooms, end="dosing")
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert 'data-format="minutes"' in page and "since dose start" in page
    s = dosed_session(make_patient(), staff, rooms=rooms, end="discharged")
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "since dose start" not in page and "dose started</span>" in page
