"""A small clinic record for the FHIR resource tests, reached only through the app's services (tests/factories.py):
one patient with a signed IV session (vitals, weight, dose, signatures), an esketamine session, a PHQ-9 and a GAD-7,
a diagnosis and one marked entered-in-error, a desk measurement, an adverse event, allergies written on the record."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from ketaclinic.measures import services as measures
from ketaclinic.patients import services as patients
from ketaclinic.treatments import services as treatments
from tests import factories as f

ALLERGIES = "Penicillin (hives)\nLatex"
PHQ9 = {"q1": 2, "q2": 2, "q3": 1, "q4": 1, "q5": 0, "q6": 1, "q7": 1, "q8": 0, "q9": 0}  # total 8
GAD7 = {"q1": 1, "q2": 1, "q3": 2, "q4": 0, "q5": 0, "q6": 1, "q7": 0}  # total 5


def build(patient, staff, rooms) -> dict:
    nurse = f.actor(staff["nurse"])
    patients.update_patient(actor=f.actor(staff["front_desk"]), patient=patient, data={"allergies": ALLERGIES})
    # at 09:00 in the clinic ten of its working days ago, whatever the hour now: the session and its readings fall on
    # one day (one started at "now less 14 days" late in the evening ran past midnight, and a search by its day
    # missed readings), inside the clinic's hours; the transfer two of its working days later
    start = f.open_day(patient.clinic, -10, at=time(9, 0))
    session = f.dosed_session(patient, staff, start=start, rooms=rooms, end="signed")
    transfer = f.dosed_session(patient, staff, start=f.open_day(patient.clinic, -8, at=time(9, 0)), rooms=rooms,
                               end="transferred")
    rating = treatments.add_rating(actor=f.actor(staff["prescriber"]), session=transfer, scale="moaas",
                                   timepoint="peak", answers={"level": 4})
    phq = measures.record_administration(actor=nurse, patient=patient, scale="phq9", answers=PHQ9,
                                         administered_at=timezone.now() - timedelta(days=2)).administration
    gad = measures.record_administration(actor=nurse, patient=patient, scale="gad7", answers=GAD7,
                                         administered_at=timezone.now() - timedelta(days=2)).administration
    dx = patients.add_diagnosis(actor=nurse, patient=patient, code="F33.2")
    wrong = patients.add_diagnosis(actor=nurse, patient=patient, code="F43.12")
    patients.mark_diagnosis_entered_in_error(actor=nurse, diagnosis=wrong, reason="Wrong patient's history")
    return {"session": session, "rating": rating, "transferred": transfer, "phq": phq, "gad": gad, "dx": dx, "wrong_dx": wrong}
