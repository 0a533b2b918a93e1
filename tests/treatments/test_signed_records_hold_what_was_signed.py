"""Every signed clinical record carries a content hash in the audit entry of its signature, and `verify_records`
names a record changed behind the application's back, whatever the kind: a session note with its vitals, dose,
events; an order; an eligibility assessment; a therapist's note; a questionnaire's answers."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ketaclinic.audit.append_only import lifted
from ketaclinic.audit.seals import verify_records
from tests.factories import actor, dosed_session, let_time_pass


def behind_the_apps_back(*tables: str):
    """Lift the append-only triggers of ``tables``, as someone with write access to the database could."""
    return lifted(connection, *tables)


@pytest.fixture
def signed_session(patient, staff, rooms):
    return dosed_session(patient, staff, rooms=rooms, end="signed")


def mismatched() -> list[str]:
    return [p.record for p in verify_records()[1]]


def test_a_signed_session_its_order_and_its_assessment_verify(signed_session, capsys):
    checked, problems = verify_records()
    assert problems == []
    # the patient's registry record, the consult's assessment, the order, and the session (sealed at both signatures)
    assert checked == 4
    call_command("verify_records")
    assert "Signed records intact" in capsys.readouterr().out


@pytest.mark.parametrize(("table", "change"), [
    ("treatments_vitalsreading", "UPDATE treatments_vitalsreading SET \"systolic_mmHg\" = \"systolic_mmHg\" - 30"),
    ("treatments_sessionevent", "DELETE FROM treatments_sessionevent"),
    ("treatments_vitalsreading", "DELETE FROM treatments_vitalsreading WHERE id = (SELECT MAX(id) FROM "
                                 "treatments_vitalsreading)"),
    ("", "UPDATE treatments_treatmentsession SET administered_mg = administered_mg - 5"),
    ("", "UPDATE treatments_treatmentsession SET note_summary = 'Rewritten after signing.'"),
])
def test_a_signed_session_changed_in_the_database_is_named(signed_session, table, change):
    with behind_the_apps_back(*([table] if table else [])), connection.cursor() as cur:
        cur.execute(change)
        assert cur.rowcount > 0, "the change touched nothing: the test would prove nothing"
    assert "treatments.TreatmentSession" in mismatched()
    with pytest.raises(CommandError, match="do not match their signature"):
        call_command("verify_records")


def test_a_signed_order_and_assessment_changed_are_named_but_a_stopped_order_is_not(signed_session, staff):
    from ketaclinic.treatments import services

    services.stop_order(actor=actor(staff["prescriber"]), order=signed_session.order, reason="Course complete.")
    assert mismatched() == []  # its status moves on by design
    with connection.cursor() as cur:
        cur.execute("UPDATE treatments_treatmentorder SET dose_mg_per_kg = 1.5")
        cur.execute("UPDATE screening_eligibilityassessment SET decision = 'declined'")
    assert {"treatments.TreatmentOrder", "screening.EligibilityAssessment"} <= set(mismatched())


def test_a_therapists_note_changed_is_named(patient, staff, rooms):
    from ketaclinic.integration import services

    s = dosed_session(patient, staff, rooms=rooms, end="stopped")
    let_time_pass(60)
    offer = services.offer_after(actor=actor(staff["nurse"]), session=s)
    services.write_note(actor=actor(staff["therapist"]), offer=offer, text="Grounded; processed the imagery.")
    assert mismatched() == []
    with connection.cursor() as cur:
        cur.execute("UPDATE integration_therapistnote SET text = 'Nothing of note.'")
        assert cur.rowcount == 1
    assert mismatched() == ["integration.TherapistNote"]


def test_a_submitted_questionnaire_changed_is_named_but_entered_in_error_is_not(patient, actor_for):
    from ketaclinic.measures import services

    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                         answers={f"q{i}": 1 for i in range(1, 10)})
    assert out.submitted and mismatched() == []
    services.mark_entered_in_error(actor=actor_for("nurse"), administration=out.administration,
                                   reason="Entered for the wrong patient.")
    assert mismatched() == []
    with connection.cursor() as cur:
        cur.execute("UPDATE measures_itemanswer SET value = 0 WHERE item_id = 'q9'")
        assert cur.rowcount == 1
    assert mismatched() == ["measures.Administration"]


def test_only_a_synthetic_demo_record_can_be_back_dated_and_sealed_again(signed_session, staff):
    from datetime import timedelta

    from ketaclinic.audit.seals import backdate_demo_record

    order = signed_session.order
    earlier = order.signed_at - timedelta(days=40)
    assert not signed_session.patient.is_demo
    with pytest.raises(ValueError, match="synthetic demo patient"):
        backdate_demo_record(actor(staff["prescriber"]), order, signed_at=earlier)
    order.refresh_from_db()
    assert order.signed_at != earlier and mismatched() == []


@pytest.fixture
def nurse_signed(patient, staff, rooms):
    from ketaclinic.treatments import services
    from tests.factories import drug_accounted

    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    drug_accounted(s, staff)
    services.sign_note(actor=actor(staff["nurse"]), session=s, as_role="nurse", summary="Uneventful.")
    return s


def test_a_co_signature_is_refused_on_a_note_changed_since_the_nurse_signed(nurse_signed, staff):
    """Signing over a falsified record would make the falsification "what was signed"."""
    from ketaclinic.treatments import services

    with behind_the_apps_back("treatments_vitalsreading"), connection.cursor() as cur:
        cur.execute("UPDATE treatments_vitalsreading SET \"systolic_mmHg\" = \"systolic_mmHg\" - 40")
    with pytest.raises(services.TreatmentError, match="changed outside KetaClinic"):
        services.sign_note(actor=actor(staff["prescriber"]), session=nurse_signed, as_role="prescriber")
    assert mismatched() == ["treatments.TreatmentSession"]


def test_a_co_signature_or_a_signature_forged_in_the_database_is_named(nurse_signed, staff, make_patient, rooms):
    with connection.cursor() as cur:
        cur.execute("UPDATE treatments_treatmentsession SET prescriber_signed_by_id = %s, prescriber_signed_at = "
                    "nurse_signed_at WHERE id = %s", [staff["prescriber"].pk, nurse_signed.pk])
    unsigned = dosed_session(make_patient(), staff, rooms=rooms, end="discharged")
    with connection.cursor() as cur:
        cur.execute("UPDATE treatments_treatmentsession SET nurse_signed_by_id = %s, nurse_signed_at = "
                    "discharged_at WHERE id = %s", [staff["nurse"].pk, unsigned.pk])
    problems = {(p.pk if isinstance(p.pk, int) else int(p.pk), p.reason) for p in verify_records()[1]}
    assert (nurse_signed.pk, "the record no longer holds what was signed") in problems
    assert (unsigned.pk, "it says it is signed, but no signature sealed it") in problems


def test_a_stopped_order_made_active_again_or_a_retraction_forged_is_named(signed_session, staff):
    from ketaclinic.treatments import services

    services.stop_order(actor=actor(staff["prescriber"]), order=signed_session.order, reason="Course complete.")
    with connection.cursor() as cur:
        cur.execute("UPDATE treatments_treatmentorder SET status = 'active'")
        cur.execute("UPDATE screening_eligibilityassessment SET absolute_retracted_at = signed_at, "
                    "absolute_retraction_reason = 'forged'")
    assert {"treatments.TreatmentOrder", "screening.EligibilityAssessment"} <= set(mismatched())


def test_the_seal_index_edited_to_match_a_change_is_named(signed_session):
    from ketaclinic.audit.seals import content_hash

    with connection.cursor() as cur:
        cur.execute("UPDATE treatments_treatmentsession SET note_summary = '' WHERE id = %s", [signed_session.pk])
    with behind_the_apps_back("audit_recordseal"), connection.cursor() as cur:
        cur.execute("UPDATE audit_recordseal SET hash = %s WHERE record = 'treatments.TreatmentSession'",
                    [content_hash(signed_session)])
    reasons = {p.reason for p in verify_records()[1]}
    assert "the seal index does not match the audit trail's entry" in reasons


def test_verify_records_refuses_to_vouch_for_seals_in_a_broken_audit_trail(signed_session):
    with behind_the_apps_back("audit_auditentry"), connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET actor_label = 'someone else' WHERE seq = 2")
    with pytest.raises(CommandError, match="audit trail that holds the seals is broken"):
        call_command("verify_records")


def test_the_demo_back_dates_only_times_of_its_own_synthetic_records(signed_session, staff):
    from ketaclinic.audit.seals import backdate_demo_record
    from ketaclinic.patients.models import Patient

    Patient.objects.filter(pk=signed_session.patient_id).update(is_demo=True)
    with pytest.raises(ValueError, match="fields ending in _at"):
        backdate_demo_record(actor(staff["prescriber"]), signed_session.order, dose_mg_per_kg=1)


def test_verifying_reads_as_many_queries_for_two_signed_sessions_as_for_one(patient, make_patient, staff, rooms):
    # a restore's proof and the nightly verify_records read the signed records a chunk at a time, with the rows
    # they cover: a clinic's years of signed sessions are checked in minutes, not one query per row per record
    from django.test.utils import CaptureQueriesContext

    dosed_session(patient, staff, chair=rooms["a1"], end="signed")
    with CaptureQueriesContext(connection) as one:
        assert verify_records() == (4, [])
    dosed_session(make_patient(), staff, chair=rooms["a2"], end="signed")
    with CaptureQueriesContext(connection) as two:
        assert verify_records() == (8, [])
    assert len(two) == len(one)


def test_a_kind_whose_key_is_not_an_integer_cannot_be_registered_for_sealing():
    # the seal index keeps a record's key as text and finds the unsealed by the key's text in the database, which
    # is str(key) only for an integer key: any other kind is refused when it registers, not misreported later
    from django.contrib.sessions.models import Session
    from django.core.exceptions import ImproperlyConfigured

    from ketaclinic.audit import seals

    with pytest.raises(ImproperlyConfigured, match="key is not an integer"):
        seals.register(Session, lambda s: {}, signed={})
    assert "sessions.Session" not in seals._KINDS
