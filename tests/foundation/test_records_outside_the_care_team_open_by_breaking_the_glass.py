"""A clinic that keeps records to their care teams (KETACLINIC_CHART_ACCESS=care_team): a clinician opens the records
of patients they treat; any other record opens only by breaking the glass, with a reason, for a limited time, and
every such access waits for the compliance lead's review."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.patients import careteam
from ketaclinic.patients.models import BreakGlassAccess, BreakGlassReview, CareTeamMember
from ketaclinic.patients.services import RegistryError
from tests.factories import let_time_pass, make_order

REASON = {"reason_kind": "covering", "reason": "Covering for Dr Lee today; the patient called about nausea."}


@pytest.fixture
def care_team_mode(settings):
    settings.KETACLINIC_CHART_ACCESS = "care_team"
    settings.KETACLINIC_BREAK_GLASS_MINUTES = 240


def chart(patient) -> str:
    return reverse("patients:chart", kwargs={"external_id": patient.external_id})


def glass(patient) -> str:
    return reverse("patients:break_glass", kwargs={"external_id": patient.external_id})


def test_by_default_every_chart_reader_opens_every_record(client_for, patient):
    assert client_for("nurse").get(chart(patient)).status_code == 200
    assert not BreakGlassAccess.objects.exists()


def test_a_nurse_outside_the_care_team_meets_the_break_glass_page_and_the_refusal_is_audited(
        care_team_mode, client_for, patient, staff):
    response = client_for("nurse").get(chart(patient))
    assert response.status_code == 302
    assert response["Location"].startswith(glass(patient) + "?next=")
    page = client_for("nurse").get(response["Location"])
    assert page.status_code == 200 and b"not on your care list" in page.content
    refused = AuditEntry.objects.get(action="patient.outside_care_team.refused")
    assert refused.actor == staff["nurse"] and refused.patient == patient
    # nothing of the record reached the nurse: no chart view was recorded
    assert not AuditEntry.objects.filter(action="patient.chart.viewed", actor=staff["nurse"]).exists()


def test_a_post_outside_the_care_team_changes_nothing(care_team_mode, client_for, patient):
    url = reverse("patients:add_measurement", kwargs={"external_id": patient.external_id})
    response = client_for("nurse").post(url, {"unit": "metric", "weight": "70"})
    assert response.status_code == 403 and b"Nothing was saved" in response.content
    assert not patient.measurements.exists()


def test_breaking_the_glass_opens_the_record_for_the_set_time_then_closes_it(care_team_mode, client_for, patient,
                                                                            staff):
    nurse = client_for("nurse")
    response = nurse.post(glass(patient), {**REASON, "next": chart(patient)})
    assert response.status_code == 302 and response["Location"] == chart(patient)
    access = BreakGlassAccess.objects.get()
    assert (access.user, access.patient, access.reason_kind) == (staff["nurse"], patient, "covering")
    assert access.expires_at - access.opened_at == timedelta(minutes=240)
    opened = AuditEntry.objects.get(action="patient.break_glass.opened")
    assert opened.details["reason"] == REASON["reason"]
    page = nurse.get(chart(patient))
    assert page.status_code == 200 and b"Break-glass access" in page.content
    let_time_pass(241)
    assert nurse.get(chart(patient)).status_code == 302


@pytest.mark.parametrize("posted,field", [
    ({"reason_kind": "covering", "reason": ""}, "reason"),
    ({"reason_kind": "covering", "reason": "because"}, "reason"),
    ({"reason_kind": "curious", "reason": "I would like to see this record now."}, "reason_kind"),
    ({"reason_kind": "other", "reason": "Emergency\x00 now please"}, "reason"),
])
def test_a_break_glass_without_a_real_reason_is_refused_and_opens_nothing(care_team_mode, client_for, patient,
                                                                         posted, field):
    response = client_for("nurse").post(glass(patient), posted)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not BreakGlassAccess.objects.exists()
    assert client_for("nurse").get(chart(patient)).status_code == 302


def test_the_clinicians_who_treat_the_patient_are_on_the_care_team(care_team_mode, client_for, patient, staff):
    # the prescriber who signed the order, and the front desk (not a care-team role) by role
    make_order(patient, staff)
    assert client_for("prescriber").get(chart(patient)).status_code == 200
    assert client_for("front_desk").get(chart(patient)).status_code == 200
    assert client_for("therapist").get(chart(patient)).status_code == 302


def test_a_prescriber_names_a_therapist_on_the_care_team_and_removing_them_closes_the_record(
        care_team_mode, client_for, patient, staff):
    make_order(patient, staff)  # the nurse started the consult: she is on the team already
    prescriber = client_for("prescriber")
    add = reverse("patients:care_team_add", kwargs={"external_id": patient.external_id})
    assert prescriber.post(add, {"member": staff["therapist"].pk}).status_code == 302
    assert client_for("therapist").get(chart(patient)).status_code == 200
    again = prescriber.post(add, {"member": staff["therapist"].pk})
    assert again.status_code == 200 and "already on the care team" in str(again.context["care_team_form"].errors)
    membership = CareTeamMember.objects.get()
    end = reverse("patients:care_team_end", kwargs={"external_id": patient.external_id, "pk": membership.pk})
    assert prescriber.post(end).status_code == 302
    membership.refresh_from_db()
    assert membership.ended_at is not None and membership.ended_by == staff["prescriber"]
    assert client_for("therapist").get(chart(patient)).status_code == 302
    assert list(AuditEntry.objects.filter(action__startswith="patient.care_team").values_list("action", flat=True)
                .order_by("seq")) == ["patient.care_team.added", "patient.care_team.ended"]


@pytest.mark.parametrize("roles", [(), ("front_desk",), ("billing",)])
def test_only_a_prescriber_nurse_or_therapist_joins_a_care_team(care_team_mode, patient, staff, make_user, roles):
    other = make_user(*roles)
    with pytest.raises(RegistryError, match="prescriber, nurse or therapist"):
        careteam.add_member(actor=Actor(user=staff["prescriber"], roles=frozenset({"prescriber"})), patient=patient,
                            member=other)


def test_no_one_adds_themselves_to_a_care_team_not_even_after_breaking_the_glass(care_team_mode, client_for, patient,
                                                                                  staff, make_user):
    prescriber = client_for("prescriber")
    prescriber.post(glass(patient), REASON)
    add = reverse("patients:care_team_add", kwargs={"external_id": patient.external_id})
    refused = prescriber.post(add, {"member": staff["prescriber"].pk})
    assert refused.context["care_team_form"].errors["member"] == ["Only someone on this patient's care team adds to it."]
    admin_prescriber = make_user("clinic_admin", "prescriber")  # restricted as a prescriber: not on the team
    with pytest.raises(RegistryError):
        careteam.add_member(actor=Actor.for_user(admin_prescriber), patient=patient,
                            member=admin_prescriber)
    make_order(patient, staff)  # now the prescriber who signed the order is on the team, and still cannot add himself
    with pytest.raises(RegistryError, match="no one adds themselves"):
        careteam.add_member(actor=Actor(user=staff["prescriber"], roles=frozenset({"prescriber"})), patient=patient,
                            member=staff["prescriber"])
    assert not CareTeamMember.objects.exists()


def test_compliance_reviews_each_access_with_the_pages_it_opened(care_team_mode, client_for, patient, staff):
    nurse = client_for("nurse")
    nurse.post(glass(patient), REASON)
    nurse.get(chart(patient))
    compliance = client_for("compliance")
    queue = compliance.get(reverse("patients:break_glass_reviews"))
    assert queue.status_code == 200
    [waiting] = queue.context["waiting"]
    assert [p["action"] for p in waiting.pages] == ["patient.break_glass.opened", "patient.chart.viewed"]
    url = reverse("patients:review_break_glass", kwargs={"pk": waiting.pk})
    p = f"a{waiting.pk}-"
    refused = compliance.post(url, {p + "outcome": "inappropriate", p + "note": ""})
    assert not BreakGlassReview.objects.exists()  # a finding without a note is refused, next to its access
    assert "Say what follows" in str(refused.context["waiting"][0].form.errors)
    compliance.post(url, {p + "outcome": "appropriate", p + "note": "Confirmed with Dr Lee."})
    review = BreakGlassReview.objects.get()
    assert (review.outcome, review.reviewed_by) == ("appropriate", staff["compliance"])
    compliance.post(url, {p + "outcome": "inappropriate", p + "note": "again"})
    assert BreakGlassReview.objects.count() == 1
    assert compliance.get(reverse("patients:break_glass_reviews")).context["waiting"] == []


def test_no_one_reviews_their_own_break_glass(care_team_mode, patient, make_user, clinic):
    both = make_user("nurse", "compliance")
    me = Actor.for_user(both)
    access = careteam.break_glass(actor=me, patient=patient, **REASON)
    with pytest.raises(RegistryError, match="Someone else"):
        careteam.review(actor=me, access=access, outcome="appropriate", note="")


def test_break_glass_accesses_are_append_only(care_team_mode, patient, staff):
    from django.db import DatabaseError, transaction

    access = careteam.break_glass(actor=Actor(user=staff["nurse"], roles=frozenset({"nurse"})), patient=patient,
                                  **REASON)
    with pytest.raises(DatabaseError), transaction.atomic():
        BreakGlassAccess.objects.filter(pk=access.pk).update(expires_at=timezone.now() + timedelta(days=365))
    with pytest.raises(DatabaseError), transaction.atomic():
        BreakGlassAccess.objects.filter(pk=access.pk).delete()


def test_the_api_keeps_the_same_care_team_rule(care_team_mode, client_for, patient):
    url = reverse("api-1.0.0:patient_detail", kwargs={"patient_id": patient.external_id})
    nurse = client_for("nurse")
    refused = nurse.get(url)
    assert refused.status_code == 403 and "outside your care team" in refused.json()["detail"]
    nurse.post(glass(patient), REASON)
    assert nurse.get(url).json()["mrn"] == patient.mrn


@pytest.fixture
def outsider(make_user):
    """A second nurse, who has never treated the patient."""
    from django.test import Client

    c = Client()
    c.nurse = make_user("nurse", username="outside.nurse")
    c.force_login(c.nurse)
    return c


def test_every_page_that_reaches_the_patient_through_a_record_asks_for_the_glass(care_team_mode, patient, staff,
                                                                                outsider, clinic):
    """The consult, the order, the signed session record and its PDF, the integration session with its notes, a
    questionnaire's answers: each reached by its own id, none opens to a nurse outside the care team."""
    from tests.factories import dosed_session, make_rooms, open_day

    s = dosed_session(patient, staff, rooms=make_rooms(clinic), start=open_day(clinic, -2), end="signed")
    consult = s.order.eligibility.consult
    offer = patient.integration_sessions.get()
    pages = [
        reverse("screening:detail", kwargs={"external_id": consult.external_id}),
        reverse("treatments:order", kwargs={"external_id": s.order.external_id}),
        reverse("treatments:cockpit", kwargs={"external_id": s.external_id}),
        reverse("records:session", kwargs={"external_id": s.external_id}),
        reverse("records:session_pdf", kwargs={"external_id": s.external_id}),
        reverse("integration:detail", kwargs={"external_id": offer.external_id}),
    ]
    for url in pages:
        response = outsider.get(url)
        assert response.status_code == 302 and response["Location"].startswith(glass(patient)), url
    assert AuditEntry.objects.filter(action="patient.outside_care_team.refused").count() == len(pages)
    outsider.post(glass(patient), REASON)
    assert all(outsider.get(url).status_code == 200 for url in pages)


@pytest.mark.calendar
def test_the_nurses_on_shift_open_the_record_of_a_patient_booked_today(care_team_mode, patient, staff, outsider,
                                                                       clinic):
    from tests.factories import back_at, book_at, local, make_order, make_rooms, open_day

    rooms = make_rooms(clinic)
    order = make_order(patient, staff)
    session_day = open_day(clinic, 1)  # 10:00 on the clinic's next working day
    book_at(order, staff, session_day, room=rooms["infusion"])
    assert outsider.get(chart(patient)).status_code == 302  # booked for a later day: not yet
    with back_at(local(session_day.astimezone(clinic.tz).date(), time(7, 30), clinic.tz)):
        from django.test import Client

        shift = Client()  # a new shift, a new sign-in
        shift.force_login(outsider.nurse)
        assert shift.get(chart(patient)).status_code == 200  # the day of the session


def test_the_admins_password_page_does_not_seal_a_forged_role(actor_for, client_for):
    from ketaclinic.accounts.models import RoleGrant, grant_clinic_id
    from ketaclinic.accounts.services import create_staff
    from ketaclinic.audit.seals import verify_records

    user = create_staff(actor=actor_for("clinic_admin"), username="rn.pw", password="correct horse battery",
                        roles={"nurse"}, first_name="Pat", last_name="Word")
    RoleGrant.objects.create(user=user, clinic_id=grant_clinic_id(), role="clinic_admin")  # behind the application's back
    url = reverse("admin:accounts_user_change", args=[user.pk]) + "password/"
    response = client_for("clinic_admin").post(url, {"password1": "a new long passphrase 42",
                                                     "password2": "a new long passphrase 42"})
    assert response.status_code == 302
    assert [p.record for p in verify_records()[1]] == ["accounts.User"]  # still named
    user.refresh_from_db()
    assert user.check_password("correct horse battery")  # nothing saved


def test_the_cockpits_panels_and_the_drug_account_ask_for_the_glass_too(care_team_mode, patient, staff, outsider,
                                                                        clinic):
    from tests.factories import dosed_session, make_rooms, open_day

    s = dosed_session(patient, staff, rooms=make_rooms(clinic), start=open_day(clinic, -2), end="signed")
    for url in (reverse("treatments:pk_prediction", kwargs={"external_id": s.external_id}),
                reverse("custody:session", kwargs={"external_id": s.external_id})):
        assert outsider.get(url).status_code == 302, url
    # a part of a page (htmx): the whole page goes to the break-glass page, and nothing posted is saved
    page = "http://testserver" + reverse("treatments:cockpit", kwargs={"external_id": s.external_id})
    before = s.vitals.count()
    response = outsider.post(reverse("treatments:vitals", kwargs={"external_id": s.external_id}),
                             {"systolic_mmHg": "120", "diastolic_mmHg": "80"}, HTTP_HX_REQUEST="true",
                             HTTP_HX_CURRENT_URL=page)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(glass(patient) + "?next=")
    assert s.vitals.count() == before


def test_the_prescriber_on_call_answers_a_suicide_risk_task_without_breaking_the_glass(care_team_mode, patient,
                                                                                      staff, actor_for, make_user):
    from django.test import Client

    from ketaclinic.measures import services as measures
    from ketaclinic.measures.models import SafetyTask

    on_call = make_user("prescriber", username="on.call")
    measures.set_on_call(actor=actor_for("clinic_admin"), day=timezone.localdate(), clinician=on_call)
    answers = {f"q{i}": 0 for i in range(1, 10)} | {"q9": 2}
    measures.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9", answers=answers)
    task = SafetyTask.objects.get()
    c = Client()
    c.force_login(on_call)
    assert c.get(reverse("measures:safety_task", kwargs={"task_id": task.external_id})).status_code == 200
    assert c.get(chart(patient)).status_code == 200
    assert not BreakGlassAccess.objects.exists()


def test_someone_who_broke_the_glass_does_not_add_to_the_care_team(care_team_mode, patient, staff, outsider):
    outsider.post(glass(patient), REASON)
    add = reverse("patients:care_team_add", kwargs={"external_id": patient.external_id})
    refused = outsider.post(add, {"member": staff["therapist"].pk})
    assert refused.status_code == 403  # a nurse has no care-team page at all; a prescriber is refused below
    prescriber_outside = careteam.add_member
    with pytest.raises(RegistryError, match="Only someone on this patient's care team"):
        prescriber_outside(actor=Actor(user=outsider.nurse, roles=frozenset({"nurse"})), patient=patient,
                           member=staff["therapist"])
