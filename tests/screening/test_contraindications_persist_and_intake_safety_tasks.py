"""Clinical safety review: a new consult must not forget an earlier absolute contraindication, and intake
scales open urgent safety tasks through the measures app."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures.models import Administration, SafetyTask
from ketaclinic.screening import services
from ketaclinic.screening.services import ScreeningError
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.services import TreatmentError
from tests.treatments.factories import IV, actor, make_eligible

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------------------ defect 4
def test_new_consult_carries_history_flags_and_medication_classes(patient, staff):
    c1, _ = make_eligible(patient, staff, flags=("psychosis",), sign=False)
    c1.refresh_from_db()
    c1.medication_classes = ["benzodiazepine"]
    c1.save()
    c2 = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    assert c2.history_flags == ["psychosis"] and c2.medication_classes == ["benzodiazepine"]


def test_earlier_signed_absolute_blocks_orders_after_a_fresh_eligible_consult(patient, staff):
    _, a1 = make_eligible(patient, staff, drug="esketamine", flags=("arteriovenous_malformation",))
    assert a1.has_absolute
    c2, a2 = make_eligible(patient, staff, drug="ketamine")
    assert a2.allows_orders
    with pytest.raises(TreatmentError) as e:
        treatments.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV)
    msg = str(e.value)
    assert "rteriovenous" in msg and f"{timezone.localtime(a1.signed_at, patient.clinic.tz):%Y-%m-%d}" in msg  # its day


def test_sign_order_refuses_after_a_signed_absolute(patient, staff):
    make_eligible(patient, staff, drug="ketamine")
    order = treatments.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV, sign=False)
    make_eligible(patient, staff, drug="ketamine", flags=("aneurysmal_vascular_disease",))
    with pytest.raises(TreatmentError, match="neurysmal"):
        treatments.sign_order(actor=actor(staff["prescriber"]), order=order)


def test_prescriber_retracts_an_absolute_finding_with_a_reason(patient, staff):
    _, a1 = make_eligible(patient, staff, drug="esketamine", flags=("arteriovenous_malformation",))
    make_eligible(patient, staff, drug="ketamine")
    with pytest.raises(ScreeningError):
        services.retract_absolute(actor=actor(staff["nurse"]), assessment=a1, reason="Wrong patient's history")
    with pytest.raises(ScreeningError):
        services.retract_absolute(actor=actor(staff["prescriber"]), assessment=a1, reason="")
    services.retract_absolute(actor=actor(staff["prescriber"]), assessment=a1,
                              reason="AVM belonged to another patient; imaging reviewed")
    a1.refresh_from_db()
    assert a1.absolute_retracted_by == staff["prescriber"]
    assert AuditEntry.objects.filter(action="eligibility.absolute.retracted").exists()
    assert treatments.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV).status == "active"


def test_order_form_names_the_contraindication(patient, staff, client_for):
    make_eligible(patient, staff, drug="esketamine", flags=("arteriovenous_malformation",))
    make_eligible(patient, staff, drug="ketamine")
    body = client_for("prescriber").get(reverse("treatments:order_new", args=[patient.external_id])).content.decode()
    assert "rteriovenous" in body


def test_retract_view_is_for_prescribers(patient, staff, client_for):
    _, a1 = make_eligible(patient, staff, drug="esketamine", flags=("arteriovenous_malformation",))
    url = reverse("screening:sign", args=[a1.external_id])
    assert client_for("nurse").post(url, {"decision": "retract", "reason": "x" * 20}).status_code == 403
    client_for("prescriber").post(url, {"decision": "retract", "reason": "Recorded for the wrong patient"})
    a1.refresh_from_db()
    assert a1.absolute_retracted_at is not None


# ------------------------------------------------------------------------------------------ defect 6
def test_baseline_phq9_item9_opens_an_urgent_safety_task(patient, staff):
    c = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    row = services.record_scale(actor=actor(staff["nurse"]), consult=c, scale="phq9",
                                answers={f"q{i}": 3 for i in range(1, 10)})
    admin = row.administration
    assert admin.timing == "baseline" and admin.status == Administration.Status.FINAL
    assert admin.answers.count() == 9 and admin.total == 27
    assert SafetyTask.objects.filter(patient=patient, flag_code="phq9_item9", administration=admin).exists()
    assert c.scales.get() == row


def test_baseline_cssrs_high_risk_opens_a_task(patient, staff):
    c = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    services.record_scale(actor=actor(staff["nurse"]), consult=c, scale="cssrs_screener",
                          answers={"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 1, "q6_recent": 1})
    assert SafetyTask.objects.filter(patient=patient, flag_code="cssrs_high_risk").exists()


def test_refused_baseline_answers_change_nothing(patient, staff):
    c = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    with pytest.raises(ScreeningError):
        services.record_scale(actor=actor(staff["nurse"]), consult=c, scale="phq9", answers={"q1": 7})
    assert not c.scales.exists() and not Administration.objects.filter(patient=patient).exists()
