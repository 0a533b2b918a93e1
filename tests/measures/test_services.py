"""Measurement-based care use cases: scoring via the core, drafts, safety tasks, boosters, schedules, reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services
from ketaclinic.measures.models import Administration, BoosterPrompt, DueItem, ItemAnswer, SafetyTask, Timing
from ketaclinic.measures.schedule import refresh_due_items
from tests.factories import next_bookable, open_day, open_run
from tests.measures.conftest import INDUCTION_DAYS, phq9, phq9_total

pytestmark = pytest.mark.django_db


def test_complete_phq9_is_scored_by_the_core_and_stored_item_by_item(patient, actor_for):
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                         answers=phq9(2, 2, 1, 2, 1, 1, 2, 1, 0))
    admin = out.administration
    assert out.submitted and admin.status == "final"
    assert admin.total == 12 and admin.band == "moderate" and admin.complete
    answers = {a.item_id: a for a in ItemAnswer.objects.filter(administration=admin)}
    assert len(answers) == 9
    assert answers["q9"].loinc_code == "44260-8" and answers["q1"].loinc_code == "44250-9"
    assert answers["q1"].loinc_answer == "LA6570-1"  # "More than half the days"
    assert not SafetyTask.objects.exists()
    assert AuditEntry.objects.filter(action="measures.administration.submitted", patient=patient).exists()


def test_half_finished_questionnaire_is_kept_as_a_draft_and_not_scored(patient, actor_for):
    actor = actor_for("nurse")
    admin = services.start_administration(actor=actor, patient=patient, scale="phq9", source="staff")
    out = services.save_answers(actor=actor, administration=admin, answers={"q1": 2, "q2": 3, "q3": 1}, submit=True)
    admin.refresh_from_db()
    assert not out.submitted and admin.status == "draft"
    assert admin.total is None and admin.band == "" and not admin.complete
    assert "q9" in out.missing
    assert ItemAnswer.objects.filter(administration=admin).count() == 3
    # Finishing it later scores it.
    out = services.save_answers(actor=actor, administration=admin, answers=phq9(2, 3, 1, 0, 0, 0, 0, 0, 0), submit=True)
    assert out.submitted and out.administration.total == 6


def test_out_of_range_answer_is_refused_and_changes_nothing(patient, actor_for):
    actor = actor_for("nurse")
    admin = services.start_administration(actor=actor, patient=patient, scale="phq9", source="staff")
    with pytest.raises(services.MeasureError) as e:
        services.save_answers(actor=actor, administration=admin, answers={"q1": 7}, submit=False)
    assert "q1" in e.value.errors
    assert not ItemAnswer.objects.filter(administration=admin).exists()


def test_final_result_cannot_be_rewritten_only_marked_entered_in_error(patient, actor_for):
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="gad7",
                                         answers={f"q{i}": 1 for i in range(1, 8)})
    with pytest.raises(services.MeasureError):
        services.save_answers(actor=actor_for("nurse"), administration=out.administration, answers={}, submit=True)
    with pytest.raises(services.MeasureError):
        services.mark_entered_in_error(actor=actor_for("nurse"), administration=out.administration, reason=" ")
    services.mark_entered_in_error(actor=actor_for("nurse"), administration=out.administration,
                                   reason="wrong patient's paper form")
    out.administration.refresh_from_db()
    assert out.administration.status == "entered-in-error" and out.administration.total == 7


@pytest.mark.parametrize("scale,answers,flag", [
    ("phq9", phq9(1, 1, 1, 1, 1, 1, 1, 1, 1), "phq9_item9"),
    ("qids_sr16", {**{f"q{i}": 1 for i in range(1, 17)}, "q12": 2}, "qids_item12"),
    ("cssrs_screener", {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0}, "cssrs_high_risk"),
])
def test_safety_answers_open_an_urgent_task_for_the_clinician_on_call(scale, answers, flag, patient, actor_for, staff):
    other = staff["prescriber"]
    from ketaclinic.accounts.models import RoleGrant, grant_clinic_id

    on_call = type(other).objects.create_user(username="oncall", password="x" * 12)
    RoleGrant.objects.create(user=on_call, clinic_id=grant_clinic_id(), role="prescriber")
    services.set_on_call(actor=actor_for("clinic_admin"), day=timezone.localtime(timezone.now(), patient.clinic.tz).date(),
                         clinician=on_call)
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale=scale, answers=answers)
    task = SafetyTask.objects.get()
    assert task.flag_code == flag and task.assigned_to == on_call and task.status == "open"
    assert task.administration == out.administration and out.crisis
    assert AuditEntry.objects.filter(action="measures.safety_task.opened", patient=patient).exists()


def test_without_an_on_call_entry_the_first_prescriber_gets_the_task(patient, actor_for, staff):
    services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                   answers=phq9(0, 0, 0, 0, 0, 0, 0, 0, 2))
    assert SafetyTask.objects.get().assigned_to == staff["prescriber"]


def test_item9_on_a_draft_still_opens_the_task_once(patient, actor_for):
    actor = actor_for("nurse")
    admin = services.start_administration(actor=actor, patient=patient, scale="phq9", source="staff")
    services.save_answers(actor=actor, administration=admin, answers={"q9": 1}, submit=False)
    services.save_answers(actor=actor, administration=admin, answers={"q9": 1, "q1": 1}, submit=False)
    admin.refresh_from_db()
    assert admin.status == "draft" and admin.total is None
    assert SafetyTask.objects.filter(administration=admin).count() == 1


def test_acknowledging_requires_an_action_and_a_note_and_records_who_when_what(patient, actor_for, staff):
    services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                   answers=phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))
    task = SafetyTask.objects.get()
    with pytest.raises(services.MeasureError) as e:
        services.acknowledge_safety_task(actor=actor_for("prescriber"), task=task, action="", note="")
    assert set(e.value.errors) == {"action_taken", "action_note"}
    services.acknowledge_safety_task(actor=actor_for("prescriber"), task=task, action="cssrs",
                                     note="Called patient; C-SSRS low risk; safety plan reviewed.")
    task.refresh_from_db()
    assert task.status == "acknowledged" and task.acknowledged_by == staff["prescriber"]
    assert task.acknowledged_at is not None and task.action_taken == "cssrs"
    with pytest.raises(services.MeasureError):
        services.acknowledge_safety_task(actor=actor_for("nurse"), task=task, action="other", note="again")


def _induction_days(patient, near, n=6):
    """The starts of an induction series of ``n`` (three a week: INDUCTION_DAYS) on the clinic's working days, the
    first on or before ``near``."""
    return open_run(patient.clinic, INDUCTION_DAYS[:n], near=near)


def _induction(patient, make_session, starts):
    return [make_session(patient, start=start) for start in starts]


def test_loss_of_response_after_induction_opens_one_booster_prompt(patient, actor_for, make_session):
    now = timezone.now()
    starts = _induction_days(patient, now - timedelta(days=60))
    start = starts[0]
    actor = actor_for("nurse")
    services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(20),
                                   timing=Timing.BASELINE, administered_at=start - timedelta(days=1))
    _induction(patient, make_session, starts)
    end = starts[-1]
    for days, total in ((2, 6), (9, 4), (16, 7)):
        services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(total),
                                       administered_at=end + timedelta(days=days))
    assert not BoosterPrompt.objects.exists()  # +3 from the low of 4: under the +5 rise
    out = services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(10),
                                         administered_at=end + timedelta(days=23))
    prompt = out.booster
    assert prompt is not None and prompt.nadir_total == 4 and prompt.latest_total == 10 and prompt.rise == 6
    assert "LOSS OF RESPONSE" in prompt.detail
    # The same loss of response does not prompt again while open.
    services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9_total(11),
                                   administered_at=end + timedelta(days=30))
    assert BoosterPrompt.objects.count() == 1
    with pytest.raises(services.MeasureError):
        services.resolve_booster(actor=actor_for("prescriber"), prompt=prompt, decision="booked", reason="")
    services.resolve_booster(actor=actor_for("prescriber"), prompt=prompt, decision="booked",
                             reason="Booster infusion booked next week")
    prompt.refresh_from_db()
    assert prompt.status == "booked" and prompt.resolved_by.username == "prescriber"


def test_no_booster_prompt_while_the_induction_series_is_still_running(patient, actor_for, make_session):
    now = timezone.now()
    _induction(patient, make_session, _induction_days(patient, now - timedelta(days=20), n=3))
    make_session(patient, start=open_day(patient.clinic, 2), dosed=False)
    for days, total in ((10, 3), (5, 15)):
        services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                       answers=phq9_total(total), administered_at=now - timedelta(days=days))
    assert not BoosterPrompt.objects.exists()


def test_schedule_generates_due_items_and_a_score_closes_them(patient, actor_for, make_session, clock):
    # the next session is booked at the clinic's next bookable time, inside the 48 h before it that the pre-dose item
    # opens: when that is further away (a Friday before the weekend), the test clock moves on to the day before it
    clinic = patient.clinic
    upcoming = next_bookable(clinic, clock.now() + timedelta(hours=1))
    if upcoming - clock.now() > timedelta(hours=47):
        clock.move_to(upcoming - timedelta(hours=24))
    services.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    due = {(d.scale, d.timing) for d in DueItem.objects.filter(status="open")}
    assert due == {("phq9", "baseline"), ("gad7", "baseline")}
    make_session(patient, start=open_day(clinic, -2))  # a visit's history first, then the next booking
    booked = make_session(patient, start=upcoming, dosed=False)
    refresh_due_items(patient)
    refresh_due_items(patient)  # idempotent
    slots = list(DueItem.objects.filter(scale="phq9").values_list("timing", flat=True))
    assert sorted(slots) == sorted(["baseline", "pre-dose", "24h", "7d"])
    pre = DueItem.objects.get(timing="pre-dose")
    assert pre.session == booked and pre.due_at == booked.scheduled_start
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                         answers=phq9_total(12))
    closed = set(DueItem.objects.filter(administration=out.administration).values_list("timing", flat=True))
    assert closed == {"baseline", "pre-dose", "24h"}  # the 7-day slot has not opened yet
    assert DueItem.objects.get(scale="phq9", timing="7d").status == "open"


def test_reminders_are_emailed_once_per_due_item(make_portal_patient, make_patient, actor_for):
    patient, _ = make_portal_patient()
    no_portal = make_patient(email="someone@example.invalid")
    for p in (patient, no_portal):
        services.apply_default_schedule(actor=actor_for("nurse"), patient=p)
    mail.outbox.clear()
    call_command("send_measure_reminders", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [patient.email]
    assert "PHQ" not in mail.outbox[0].body and "988" in mail.outbox[0].body  # no clinical detail in email
    assert DueItem.objects.filter(patient=patient, reminder_sent_at__isnull=False).count() == 2
    call_command("send_measure_reminders", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1


def test_portal_source_is_limited_to_self_report_scales(patient, actor_for):
    with pytest.raises(services.MeasureError):
        services.start_administration(actor=actor_for("nurse"), patient=patient, scale="madrs", source="portal")
    assert not Administration.objects.exists()
