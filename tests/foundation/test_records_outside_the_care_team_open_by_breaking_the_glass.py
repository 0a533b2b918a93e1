"""A clinic that keeps records to their care teams (KETACLINIC_CHART_ACCESS=care_team): a clinician opens the records
of patients they treat; any other record opens only by breaking the glass, with a reason, for a limited time, and
every such access waits for the compliance lead's review."""

from __future__ import annotations

from datetime import timedelta

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


def test_a_patient_cannot_be_named_on_a_care_team(care_team_mode, patient, staff, make_user):
    no_roles = make_user()
    with pytest.raises(RegistryError, match="active staff member"):
        careteam.add_member(actor=Actor(user=staff["prescriber"], roles=frozenset({"prescriber"})), patient=patient,
                            member=no_roles)


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
    compliance.post(url, {"outcome": "inappropriate", "note": ""})
    assert not BreakGlassReview.objects.exists()  # a finding without a note is refused
    compliance.post(url, {"outcome": "appropriate", "note": "Confirmed with Dr Lee."})
    review = BreakGlassReview.objects.get()
    assert (review.outcome, review.reviewed_by) == ("appropriate", staff["compliance"])
    compliance.post(url, {"outcome": "inappropriate", "note": "again"})
    assert BreakGlassReview.objects.count() == 1
    assert compliance.get(reverse("patients:break_glass_reviews")).context["waiting"] == []


def test_no_one_reviews_their_own_break_glass(care_team_mode, patient, make_user, clinic):
    both = make_user("nurse", "compliance")
    me = Actor(user=both, roles=both.role_set())
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
