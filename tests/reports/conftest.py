"""The reports tests share the billing tests' synthetic price list (IV $450.00) and its fixtures, and the measures
tests' portal patients (a patient's research decision in the portal). Report jobs write their files in the test's
own folder; ``two_consented``: two patients, each dosed once in the past week, who gave research consent."""


import pytest
from django.test import override_settings

from ketaclinic.reports.research import record_research_consent
from tests.billing.conftest import billing, priced, rooms  # noqa: F401  (fixtures)
from tests.factories import actor, dosed_session, make_rooms, open_day
from tests.measures.conftest import make_portal_patient  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def export_dir(tmp_path):
    with override_settings(REPORT_EXPORT_DIR=tmp_path / "report-exports"):
        yield tmp_path / "report-exports"


@pytest.fixture
def two_consented(clinic, staff, make_patient):
    room_set = make_rooms(clinic, staff["clinic_admin"])
    people = []
    for n in range(2):
        p = make_patient()
        dosed_session(p, staff, start=open_day(clinic, -(3 + n)), rooms=room_set)  # the clinic's working days
        record_research_consent(actor=actor(staff["nurse"]), patient=p, data={"decision": "given", "how": "paper"})
        people.append(p)
    return people
