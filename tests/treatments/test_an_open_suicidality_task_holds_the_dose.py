"""A safety answer (here PHQ-9 item 9 above 0) opens an urgent task, and the suicide-risk workflow comes before any
dose: while the task is open the dose does not start, the cockpit says why, and once a clinician has acknowledged
it with what they did, the dose starts (rule session.safety_task_before_dosing)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.measures import services as measures
from ketaclinic.measures.models import SafetyTask
from ketaclinic.treatments import services
from ketaclinic.treatments.services import TreatmentError
from tests.factories import actor, book_now, make_order, ready_to_start

pytestmark = pytest.mark.django_db

PHQ9 = {f"q{i}": 1 for i in range(1, 9)}


def _ready(patient, staff, rooms):
    return ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)


def _answers_item9(patient, staff, item9: int):
    return measures.record_administration(actor=actor(staff["nurse"]), patient=patient, scale="phq9",
                                          answers={**PHQ9, "q9": item9})


def test_an_open_task_holds_the_start_until_a_clinician_acknowledges_it(patient, staff, rooms, client_for):
    s = _ready(patient, staff, rooms)
    _answers_item9(patient, staff, 2)
    [task] = SafetyTask.objects.filter(patient=patient, status=SafetyTask.Status.OPEN)
    with pytest.raises(TreatmentError) as refused:
        services.start_dose(actor=actor(staff["nurse"]), session=s)
    raised = f"raised {timezone.localtime(task.created_at):%Y-%m-%d %H:%M}"
    assert "urgent suicidality task is open" in str(refused.value) and raised in str(refused.value)
    s.refresh_from_db()
    assert s.dose_started_at is None
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Start not allowed yet" in page and "urgent suicidality task is open" in page
    today = client_for("nurse").get(reverse("clinic:today")).content.decode()
    assert "Suicidality task open" in today
    # the task's age in words ("13:17 ago" read as hours and minutes when it meant minutes and seconds)
    assert 'data-format="minutes">under 1 min</span> ago)' in today

    measures.acknowledge_safety_task(actor=actor(staff["prescriber"]), task=task, action="cssrs",
                                     note="C-SSRS screener with the patient: passive thoughts only, low risk; plan made.")
    started = services.start_dose(actor=actor(staff["nurse"]), session=s)
    assert started.dose_started_at is not None
    assert "Suicidality task open" not in client_for("nurse").get(reverse("clinic:today")).content.decode()


def test_an_answer_of_zero_on_item_9_holds_nothing(patient, staff, rooms):
    s = _ready(patient, staff, rooms)
    _answers_item9(patient, staff, 0)
    assert not SafetyTask.objects.filter(patient=patient).exists()
    assert services.start_dose(actor=actor(staff["nurse"]), session=s).dose_started_at is not None


def test_another_patients_task_holds_nothing(patient, make_patient, staff, rooms):
    s = _ready(patient, staff, rooms)
    _answers_item9(make_patient(), staff, 3)
    assert services.start_dose(actor=actor(staff["nurse"]), session=s).dose_started_at is not None
