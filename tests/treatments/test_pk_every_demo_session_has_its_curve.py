"""Every session of the demo clinic (``manage.py seed_demo``) shows its predicted curve and spread (issue 14): each
IV and esketamine session that is dosed, dosing or still to come gets a curve from every published model for its
route (an IM session under each racemic model at each end of the clinic's unconfirmed Tmax range), and each past
session its exposure in the chart; a cancelled one says that no dose was given. Nothing raises."""

from __future__ import annotations

import pytest

from ketaclinic.clinic.models import Clinic
from ketaclinic.patients.models import Patient
from ketaclinic.treatments import predictions
from ketaclinic.treatments.models import TreatmentSession
from tests.demo_world import demo_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Clinic:
    with demo_world(django_db_blocker, patients=20):
        yield Clinic.objects.filter(is_demo=True).order_by("pk").first()


def test_every_demo_session_has_its_curve_or_the_reason_why_not(demo):
    sessions = list(TreatmentSession.objects.filter(patient__clinic=demo).select_related("patient", "patient__clinic",
                                                                                       "order"))
    drawn = {"iv": 0, "im": 0, "intranasal": 0}
    evenly = 0  # the synthetic history's infusions: the dose given, with no bag or pump rate recorded
    for s in sessions:
        p = predictions.predict(s, band=False)
        evenly += any("drawn as run evenly" in n for n in p.notes)
        if s.dose_started_at is None and s.status in predictions.CLOSED:
            assert "no dose was given" in p.message, s
        else:
            assert p.ok, (s, s.status, p.message)
            per_model = 2 if s.route == "im" else 1  # IM: each end of the Tmax range
            assert len(p.curves) == per_model * len(predictions.ROUTE_MODELS[s.route]) and p.in_use.levels, s
            assert (s.route == "im") == bool(p.absorption_note), s
            drawn[s.route] += 1
    assert drawn["iv"] > 0 and drawn["im"] > 0 and drawn["intranasal"] > 0
    assert evenly > 0


def test_every_dosed_demo_session_has_its_exposure_for_the_chart(demo):
    for patient in Patient.objects.filter(clinic=demo).select_related("clinic"):
        sessions = list(patient.treatment_sessions.all())
        exposures = predictions.exposures(patient, sessions)
        for s in sessions:
            if s.dose_ended_at is None:
                continue
            e = exposures[s.pk]
            assert e.peak_ng_per_mL > 0 and e.auc_ng_h_per_mL > 0 and not e.message, (s, e)
            assert ("unconfirmed IM absorption" in e.model) == (s.route == "im"), (s, e)
