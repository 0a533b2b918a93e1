"""The second clinician's verify page names the dose the session was prescribed and prepared at (under a titration
plan, the prescriber's signed step, not the order's starting dose) and, for esketamine, asks only what applies to
nasal spray devices: the dose the 28 mg devices make, not a vial strength, bag volume or syringe."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from ketaclinic.treatments import services
from tests.factories import (
    ESK,
    actor,
    book_now,
    checked_in,
    clinic_open,
    dose_prepared,
    dosed_session,
    make_order,
    open_day,
    prechecked,
    predose_vitals,
)
from tests.measures.conftest import phq9_total

pytestmark = pytest.mark.django_db


def phq9_at(patient, staff, total: int, when, timing="ad-hoc"):
    from ketaclinic.measures import services as measures

    measures.record_administration(actor=actor(staff["nurse"]), patient=patient, scale="phq9",
                                   answers=phq9_total(total), administered_at=when, timing=timing)


def stepped_up_to_84(patient, staff, rooms):
    """A TRD esketamine order under the label's plan (order 56 mg): PHQ-9 baseline 20, two signed sessions at 56 mg,
    a weak response (PHQ-9 16), then today's session, signed by the prescriber at the proposed 84 mg and prepared by
    the nurse."""
    clinic_open(patient.clinic)
    first, second = open_day(patient.clinic, -4), open_day(patient.clinic, -2)
    order = make_order(patient, staff, ESK | {"titrate": True})
    assert order.fixed_dose_mg == Decimal("56")
    phq9_at(patient, staff, 20, first - timedelta(days=1), timing="baseline")
    dosed_session(patient, staff, order=order, rooms=rooms, start=first, end="signed")
    dosed_session(patient, staff, order=order, rooms=rooms, start=second, end="signed")
    phq9_at(patient, staff, 16, second + timedelta(hours=8))
    s = prechecked(checked_in(book_now(order, staff, rooms), staff), staff)
    predose_vitals(s, staff)
    assert services.propose_for(s).proposal.dose == Decimal("84")
    services.sign_dose(actor=actor(staff["prescriber"]), session=s, dose=Decimal("84"))
    s = dose_prepared(s, staff)
    assert (s.prepared_dose_mg, s.devices) == (Decimal("84.00"), 3)
    return s


def test_a_titrated_esketamine_session_is_verified_against_its_84_mg_not_the_orders_56(
        patient, staff, rooms, client_for):
    s = stepped_up_to_84(patient, staff, rooms)
    url = reverse("treatments:verify", args=[s.external_id])
    verifier = client_for("prescriber")  # the nurse prepared it

    page = verifier.get(url).content.decode()
    main = page[page.index("<main"):]

    assert "84 mg" in main and "56 mg" not in main and "56.00" not in main
    assert "3 devices of 28 mg" in main
    lowered = main.lower()
    for not_for_a_nasal_spray in ("vial", "bag", "syringe", "mg/ml", "weight you read"):
        assert not_for_a_nasal_spray not in lowered, not_for_a_nasal_spray

    refused = verifier.post(url, {"dose_mg": "56"}).content.decode()
    assert "does not match" in refused
    s.refresh_from_db()
    assert s.verified_at is None

    done = verifier.post(url, {"dose_mg": "84"})
    assert done.status_code == 302
    s.refresh_from_db()
    assert s.verified_by == staff["prescriber"] and s.verified_dose_mg == Decimal("84")
