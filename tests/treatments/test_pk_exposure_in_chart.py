"""The chart's treatments section shows each past session's predicted exposure (issue 14): peak and AUC under the
clinic's model in use, named, labelled a model estimate, for the clinical roles; computed from the sessions' dosing
events loaded at once (the same queries for one session as for three)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.treatments import predictions
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import ESK, IM, dosed_session, open_day

pytestmark = pytest.mark.django_db

#: Clinic days (days it works and has not closed) before today of an induction series three a week allows.
DAYS_AGO = (7, 5, 3)


def _series(patient, staff, rooms, n):
    order = None
    for days in DAYS_AGO[:n]:
        s = dosed_session(patient, staff, order=order, start=open_day(patient.clinic, -days), rooms=rooms)
        order = s.order
    return list(TreatmentSession.objects.filter(patient=patient).order_by("-scheduled_start"))


def test_each_past_session_shows_its_predicted_peak_and_auc_in_the_chart(patient, staff, rooms, client_for):
    _series(patient, staff, rooms, 3)
    body = client_for("nurse").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert "Predicted exposure" in body and "model estimate, not a measured level" in body
    # 0.5 mg/kg over 40 min, 70 kg, Domino: 240.3 ng/mL at the end of the infusion (pk-models.md §1.5)
    assert body.count("peak 240 ng/mL") == 3
    assert body.count("racemic ketamine, Domino; model estimate") == 3
    front_desk = client_for("front_desk").get(reverse("patients:chart", args=[patient.external_id]))
    assert "Predicted exposure" not in front_desk.content.decode()


def test_the_exposure_reads_the_same_queries_for_one_session_as_for_three(patient, make_patient, staff, rooms,
                                                                          django_assert_num_queries):
    three = _series(patient, staff, rooms, 3)
    other = make_patient()
    one = _series(other, staff, rooms, 1)
    patient.clinic.limits(), other.clinic.limits()  # the clinic row is the patient's, read once
    with django_assert_num_queries(1):  # the sessions' dosing events, in one query
        by_three = predictions.exposures(patient, three)
    with django_assert_num_queries(1):
        by_one = predictions.exposures(other, one)
    assert len(by_three) == 3 and len(by_one) == 1
    peaks = {round(e.peak_ng_per_mL) for e in (*by_three.values(), *by_one.values())}
    assert peaks == {240}
    assert all(e.auc_ng_h_per_mL > 0 and e.model == "Domino" for e in by_three.values())


def test_an_esketamine_session_is_estimated_with_its_own_model(patient, staff, rooms):
    s = dosed_session(patient, staff, rooms=rooms, data=ESK, start=open_day(patient.clinic, -2))
    e = predictions.exposures(patient, [s])[s.pk]
    assert e.model == "Perez-Ruixo 2021" and e.drug == "esketamine" and e.peak_ng_per_mL > 0
    assert e.label == "model estimate, not a measured level"


def test_an_im_session_is_estimated_with_the_unconfirmed_absorption_and_says_so(patient, staff, rooms, client_for):
    s = dosed_session(patient, staff, rooms=rooms, data=IM, start=open_day(patient.clinic, -2))
    e = predictions.exposures(patient, [s])[s.pk]
    assert e.model.startswith("Domino with an unconfirmed IM absorption (F 0.93, Tmax 5–15 min; pk-models.md §1.4, U")
    assert e.peak_ng_per_mL > 0 and e.auc_ng_h_per_mL > 0 and not e.message
    body = client_for("nurse").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert f"peak {round(e.peak_ng_per_mL)} ng/mL" in body and "unconfirmed IM absorption" in body
    assert "racemic ketamine, Domino with an unconfirmed IM absorption" in body and "model estimate" in body


def test_every_session_of_an_order_shows_its_exposure_on_the_orders_page(patient, staff, rooms, client_for,
                                                                         monkeypatch):
    """The chart lists the newest sessions and says where the rest are: the order's page, where every session of
    the order has its predicted exposure (for the clinical roles)."""
    from ketaclinic.treatments import chart

    sessions = _series(patient, staff, rooms, 3)
    monkeypatch.setattr(chart, "ROWS", 2)
    body = client_for("nurse").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert body.count("peak 240 ng/mL") == 2 and "The newest 2 sessions." in body
    order_url = reverse("treatments:order", args=[sessions[0].order.external_id])
    page = client_for("nurse").get(order_url).content.decode()
    assert page.count("peak 240 ng/mL") == 3 and "model estimate, not a measured level" in page
    desk = client_for("front_desk").get(order_url)
    assert desk.status_code == 200 and "peak 240 ng/mL" not in desk.content.decode()  # the desk books, sees no levels
