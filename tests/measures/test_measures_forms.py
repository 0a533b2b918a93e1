"""Staff POSTs in measurement-based care (scale entry, entered in error, schedules, safety tasks, booster
decisions, the on-call roster) are read by measures/forms.py: a refusal shows the page again with the message next
to the field, and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services
from ketaclinic.measures.models import (
    Administration,
    BoosterPrompt,
    MeasureSchedule,
    OnCall,
    SafetyTask,
    Timing,
)
from tests.measures.conftest import INDUCTION_DAYS, phq9, phq9_total

pytestmark = pytest.mark.django_db


def _message(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return body[start:body.index("</", start)]


@pytest.fixture
def final_phq9(patient, actor_for):
    return services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                          answers=phq9(1, 1, 1, 1, 1, 1, 1, 1, 1))


@pytest.fixture
def booster_prompt(patient, actor_for, make_session):
    """A loss of response after an induction series: the measures service opens a booster prompt."""
    from tests.factories import open_run

    starts = open_run(patient.clinic, INDUCTION_DAYS, near=timezone.now() - timedelta(days=60))  # clinic days
    actor = actor_for("nurse")
    services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(20),
                                   timing=Timing.BASELINE, administered_at=starts[0] - timedelta(days=1))
    for start in starts:
        make_session(patient, start=start)
    end = starts[-1]
    for days, total in ((9, 4), (23, 10)):
        out = services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(total),
                                             administered_at=end + timedelta(days=days))
    assert out.booster is not None
    return out.booster


@pytest.mark.parametrize("field,value,message", [
    ("timing", "sometime", "Choose when in the schedule this was given."),
    ("session", "not-a-session", "Choose one of this patient&#x27;s sessions."),
    ("administered_at", "yesterday", "Enter a real date and time like 2026-11-27 09:30."),
])
def test_scale_entry_refuses_bad_context_next_to_the_field(client_for, patient, field, value, message):
    data = {f"q{i}": "1" for i in range(1, 10)} | {"timing": "ad-hoc", "action": "submit", field: value}
    response = client_for("nurse").post(reverse("measures:administer", args=[patient.external_id, "phq9"]), data)
    assert response.status_code == 200
    assert message in _message(response.content.decode(), f"{field}-error")
    assert 'value="1" checked' in response.content.decode()  # the answers given are kept on the page
    assert not Administration.objects.exists()


def test_entered_in_error_needs_a_reason_next_to_the_field(client_for, final_phq9):
    admin = final_phq9.administration
    response = client_for("nurse").post(reverse("measures:entered_in_error", args=[admin.external_id]),
                                        {"reason": " "})
    assert response.status_code == 200
    assert "Say why this result was entered in error." in _message(response.content.decode(), "reason-error")
    admin.refresh_from_db()
    assert admin.status == Administration.Status.FINAL
    assert not AuditEntry.objects.filter(action="measures.administration.entered_in_error").exists()


def test_acknowledging_a_safety_task_needs_an_action_and_a_note(client_for, final_phq9):
    task = SafetyTask.objects.get()
    response = client_for("prescriber").post(reverse("measures:safety_task", args=[task.external_id]),
                                             {"action_taken": "prayed", "action_note": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Choose what you did." in _message(body, "action_taken-error")
    assert "Describe what you did and the outcome." in _message(body, "action_note-error")
    task.refresh_from_db()
    assert task.status == SafetyTask.Status.OPEN and task.acknowledged_by is None


@pytest.mark.parametrize("back,page", [("worklist", "measures/worklist.html"), ("trajectory", "measures/trajectory.html")])
def test_a_booster_decision_without_a_reason_stays_on_its_page_with_the_message(client_for, booster_prompt, back,
                                                                                page):
    response = client_for("prescriber").post(reverse("measures:booster", args=[booster_prompt.external_id]),
                                             {"decision": "booked", "reason": "", "back": back})
    assert response.status_code == 200
    assert page in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Give a reason (what you decided and why)." in _message(body, f"booster-{booster_prompt.pk}-reason-error")
    booster_prompt.refresh_from_db()
    assert booster_prompt.status == BoosterPrompt.Status.OPEN


def test_a_booster_decision_that_is_neither_is_refused(client_for, booster_prompt):
    response = client_for("prescriber").post(reverse("measures:booster", args=[booster_prompt.external_id]),
                                             {"decision": "maybe", "reason": "Not sure yet, will review"})
    assert "Choose &#x27;booster planned&#x27; or &#x27;dismiss&#x27;." in response.content.decode()
    booster_prompt.refresh_from_db()
    assert booster_prompt.status == BoosterPrompt.Status.OPEN


@pytest.mark.parametrize("day", ["2026-02-31", "27/11/2026", "0001-01-01", ""])
def test_an_impossible_on_call_day_is_refused_next_to_the_field(client_for, staff, day):
    response = client_for("clinic_admin").post(reverse("measures:on_call"),
                                               {"day": day, "clinician": staff["prescriber"].pk})
    assert response.status_code == 200
    assert response.context["form"].errors["day"]
    assert 'id="id_day_error"' in response.content.decode()
    assert not OnCall.objects.exists()


def test_on_call_must_be_an_active_prescriber(client_for, staff):
    today = timezone.localdate().isoformat()
    response = client_for("clinic_admin").post(reverse("measures:on_call"),
                                               {"day": today, "clinician": staff["nurse"].pk})
    assert response.context["form"].errors["clinician"] == ["Choose a prescriber."]
    assert not OnCall.objects.exists()


def test_a_schedule_with_an_unknown_repeat_changes_nothing(client_for, patient, actor_for):
    services.update_schedule(actor=actor_for("nurse"), patient=patient, scale="phq9",
                             values={"baseline": True, "repeat": "weekly", "active": True})
    before = MeasureSchedule.objects.get()
    response = client_for("nurse").post(reverse("measures:schedule", args=[patient.external_id]),
                                        {"scale": "phq9", "repeat": "yearly", "active": "on"})
    assert response.status_code == 200
    assert "Not saved: Choose none, weekly or monthly." in response.content.decode()
    after = MeasureSchedule.objects.get()
    assert (after.repeat, after.updated_at) == (before.repeat, before.updated_at)
