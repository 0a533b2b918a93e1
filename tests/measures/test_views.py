"""Staff pages of measurement-based care: entry flow, worklist, and query budgets (who may open each:
tests/foundation/access_table.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services
from ketaclinic.measures.models import Administration, BoosterPrompt, SafetyTask
from tests.factories import open_day
from tests.measures.conftest import phq9, phq9_total

pytestmark = pytest.mark.django_db
@pytest.fixture
def objects(patient, actor_for, make_session):
    make_session(patient, start=open_day(patient.clinic, -2))
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                         answers=phq9(1, 1, 1, 1, 1, 1, 1, 1, 1))
    task = SafetyTask.objects.get()
    prompt = BoosterPrompt.objects.create(
        patient=patient, scale="phq9", administration=out.administration, induction_end=timezone.localdate(),
        nadir_total=3, nadir_on=timezone.localdate(), latest_total=9, latest_on=timezone.localdate(), rise=6,
        detail="test")
    return {"admin": out.administration, "task": task, "prompt": prompt, "patient": patient}


def test_nurse_enters_a_phq9_and_sees_it_on_the_trajectory(patient, client_for):
    c = client_for("nurse")
    url = reverse("measures:administer", args=[patient.external_id, "phq9"])
    response = c.post(url, {**phq9(1, 1, 1, 1, 1, 1, 1, 1, 0), "timing": "baseline", "action": "submit"})
    assert response.status_code == 302
    page = c.get(reverse("measures:trajectory", args=[patient.external_id])).content.decode()
    assert 'data-total="8"' in page and "<svg" in page and "PHQ-9 as a table" in page
    assert AuditEntry.objects.filter(action="measures.trajectory.viewed", patient=patient).exists()


def test_incomplete_submit_shows_the_missing_items_and_keeps_a_draft(patient, client_for):
    c = client_for("nurse")
    url = reverse("measures:administer", args=[patient.external_id, "phq9"])
    response = c.post(url, {"q1": "2", "q2": "1", "timing": "ad-hoc", "action": "submit"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not scored" in body and "q9" in body
    admin = Administration.objects.get()
    assert admin.status == "draft" and admin.total is None
    # The draft's answers come back when the form is reopened.
    assert re.search(r'name="q1" value="2" checked', c.get(url).content.decode())


def test_bad_answer_value_is_shown_next_to_the_item(patient, client_for):
    response = client_for("nurse").post(reverse("measures:administer", args=[patient.external_id, "phq9"]),
                                        {"q1": "9", "action": "save", "timing": "ad-hoc"})
    assert response.status_code == 200 and "out of range" in response.content.decode()
    assert not Administration.objects.exists()


def test_acknowledge_page_records_the_action(objects, client_for, staff):
    task = objects["task"]
    url = reverse("measures:safety_task", args=[task.external_id])
    response = client_for("prescriber").post(url, {"action_taken": "contacted", "action_note": ""})
    assert response.status_code == 200 and "Describe what you did" in response.content.decode()
    response = client_for("prescriber").post(url, {"action_taken": "contacted", "action_note": "Spoke to patient"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.acknowledged_by == staff["prescriber"] and task.action_note == "Spoke to patient"


def _history(patient, weeks: int, clinic) -> None:
    """``weeks`` weekly PHQ-9 and GAD-7 scores plus a dosing session every 4 weeks, written in bulk."""
    start = timezone.now() - timedelta(weeks=weeks)
    rows = []
    for w in range(weeks):
        at = start + timedelta(weeks=w)
        rows.append(Administration(patient=patient, scale="phq9", status="final", source="portal", total=(w * 7) % 28,
                                   band="mild", administered_at=at, complete=True,
                                   timing="baseline" if w == 0 else "weekly"))
        rows.append(Administration(patient=patient, scale="gad7", status="final", source="staff", total=(w * 5) % 22,
                                   band="mild", administered_at=at, complete=True))
    Administration.objects.bulk_create(rows)


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_trajectory_page_query_budget_is_constant_over_two_years_of_weekly_scores(make_patient, client_for,
                                                                                make_session, clinic):
    short, long = make_patient(), make_patient()
    _history(short, 4, clinic)
    _history(long, 104, clinic)
    for p in (short, long):
        for k in reversed(range(3 if p is short else 26)):  # oldest visit first
            make_session(p, start=open_day(clinic, -(20 * k + 5)))  # about every four weeks
    c = client_for("prescriber")
    c.get(reverse("measures:trajectory", args=[short.external_id]))  # warm up session/role caches
    n_short, _ = _count(c, reverse("measures:trajectory", args=[short.external_id]))
    n_long, response = _count(c, reverse("measures:trajectory", args=[long.external_id]))
    assert n_short == n_long == 13, f"{n_short} queries for 4 weeks vs {n_long} for 2 years"
    body = response.content.decode()
    assert body.count('class="point') == 208 and body.count("<tr data-total=") == 208
    # the dosing sessions' table names the drug and route as the clinic does, not by their codes
    assert body.count("<td>Ketamine (racemic)</td><td>Intravenous infusion</td>") == 26
    assert "<td>ketamine</td>" not in body and "<td>iv</td>" not in body


def test_chart_section_query_budget_is_constant(make_patient, client_for, make_session, clinic):
    short, long = make_patient(), make_patient()
    _history(short, 2, clinic)
    _history(long, 104, clinic)
    c = client_for("nurse")
    c.get(reverse("patients:chart", args=[short.external_id]))
    n_short, _ = _count(c, reverse("patients:chart", args=[short.external_id]))
    n_long, response = _count(c, reverse("patients:chart", args=[long.external_id]))
    assert n_long == n_short
    assert "Outcomes" in response.content.decode()


def test_chart_section_hidden_from_non_clinical_roles(patient, client_for, actor_for):
    services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9", answers=phq9_total(9))
    body = client_for("billing").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert "Open outcomes" not in body


def test_today_board_shows_open_safety_tasks_to_clinicians_only(objects, client_for):
    assert "Urgent safety tasks (1)" in client_for("nurse").get(reverse("clinic:today")).content.decode()
    assert "Urgent safety tasks" not in client_for("front_desk").get(reverse("clinic:today")).content.decode()


def test_worklist_lists_due_overdue_tasks_and_prompts(objects, client_for, actor_for):
    patient = objects["patient"]
    services.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    body = client_for("prescriber").get(reverse("measures:worklist")).content.decode()
    assert "Urgent safety tasks (1)" in body and "Booster prompts (1)" in body
    assert "GAD-7" in body and "Baseline" in body


def test_schedule_page_applies_defaults_and_edits_per_patient(patient, client_for):
    from ketaclinic.measures.models import DueItem, MeasureSchedule

    c = client_for("nurse")
    url = reverse("measures:schedule", args=[patient.external_id])
    assert c.post(url, {"action": "defaults"}).status_code == 302
    assert set(MeasureSchedule.objects.filter(patient=patient).values_list("scale", flat=True)) == {"phq9", "gad7"}
    assert c.post(url, {"scale": "gad7", "repeat": "weekly", "baseline": "on"}).status_code == 302  # inactive now
    assert not MeasureSchedule.objects.get(patient=patient, scale="gad7").active
    assert DueItem.objects.get(patient=patient, scale="gad7").status == "cancelled"
    response = c.post(url, {"scale": "phq9", "repeat": "hourly", "active": "on"})
    assert response.status_code == 200 and "Choose none, weekly or monthly" in response.content.decode()


def test_on_call_roster_assigns_new_safety_tasks(patient, client_for, make_user, actor_for):
    other = make_user("prescriber", username="dr_oncall")
    today = timezone.localtime(timezone.now(), patient.clinic.tz).date()
    response = client_for("clinic_admin").post(reverse("measures:on_call"),
                                               {"day": today.isoformat(), "clinician": other.pk})
    assert response.status_code == 302
    services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                   answers=phq9(0, 0, 0, 0, 0, 0, 0, 0, 3))
    assert SafetyTask.objects.get().assigned_to == other
    bad = client_for("clinic_admin").post(reverse("measures:on_call"), {"day": "", "clinician": "999"})
    assert bad.status_code == 200 and "Choose a prescriber" in bad.content.decode()
