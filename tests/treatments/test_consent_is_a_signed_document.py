"""Consent is the patient's signature of the clinic's current consent version, witnessed at the chair, linked to
the session that relies on it; a new version needs a new signature before the next dose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from ketaclinic.treatments.models import ConsentSignature
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    actor,
    book_now,
    checked_in,
    make_order,
    prechecked,
    predose_vitals,
    ready_to_start,
)


def _document(staff, version="2026-1", days_ago=30, drug="ketamine"):
    return services.add_consent_document(actor=actor(staff["clinic_admin"]), drug=drug, version=version,
                                         title="Consent to ketamine treatment", text="What the patient reads.",
                                         effective_from=timezone.localdate() - timedelta(days=days_ago))


def test_without_a_consent_document_the_dose_cannot_start(patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    assert any("No consent document is set up" in m for m in services.precheck_missing(s))
    with pytest.raises(TreatmentError, match="No consent document"):
        services.sign_consent(actor=actor(staff["nurse"]), session=s, signer_name=patient.legal_name)


def test_the_patient_signs_the_current_version_witnessed_by_the_nurse(patient, staff, rooms):
    doc = _document(staff)
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    assert any("Consent not signed" in m and "2026-1" in m for m in services.precheck_missing(s))
    with pytest.raises(TreatmentError, match="legal family name"):
        services.sign_consent(actor=actor(staff["nurse"]), session=s, signer_name="Somebody Else")
    assert not ConsentSignature.objects.exists()
    sig = services.sign_consent(actor=actor(staff["nurse"]), session=s, signer_name=f"  {patient.legal_name} ")
    s.refresh_from_db()
    assert s.consent == sig and sig.document == doc and sig.witnessed_by == staff["nurse"]
    assert sig.signer_name == patient.legal_name
    assert not any("onsent" in m for m in services.precheck_missing(s))


def test_a_new_version_needs_a_new_signature_and_the_dose_records_the_version_it_relied_on(patient, staff, rooms,
                                                                                           clock):
    _document(staff)
    first = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)  # signs version 2026-1
    services.start_dose(actor=actor(staff["nurse"]), session=first)
    first.refresh_from_db()
    assert first.consent.document.version == "2026-1"
    _document(staff, version="2026-2", days_ago=0)
    clock.shift(timedelta(days=2))
    order = first.order
    second = checked_in(book_now(order, staff, rooms), staff)
    assert any("2026-2" in m for m in services.precheck_missing(second))
    prechecked(second, staff)  # signs the new version
    predose_vitals(second, staff)
    assert services.valid_consent(second).document.version == "2026-2"
    first.refresh_from_db()
    assert first.consent.document.version == "2026-1"  # the earlier dose keeps the version it relied on


def test_a_signature_cannot_be_changed_or_removed_in_the_database(patient, staff, rooms):
    _document(staff)
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    sig = services.sign_consent(actor=actor(staff["nurse"]), session=s, signer_name=patient.legal_name)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentSignature.objects.filter(pk=sig.pk).update(signer_name="Forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM treatments_consentsignature WHERE id = %s", [sig.pk])
    assert ConsentSignature.objects.filter(pk=sig.pk, signer_name=patient.legal_name).exists()


def test_the_cockpit_shows_the_text_and_takes_the_signature(patient, staff, rooms, client_for):
    _document(staff)
    s = checked_in(book_now(make_order(patient, staff), staff, rooms), staff)
    nurse = client_for("nurse")
    page = nurse.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "What the patient reads." in page and "Patient signed (I witnessed it)" in page
    nurse.post(reverse("treatments:sign_consent", args=[s.external_id]), {"signer_name": patient.legal_name})
    page = nurse.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert f"signed by <b>{patient.legal_name}</b>" in page and "Patient signed (I witnessed it)" not in page


def test_only_the_clinic_admin_adds_a_version_and_a_version_is_never_reused(staff):
    with pytest.raises(TreatmentError, match="clinic admin"):
        services.add_consent_document(actor=actor(staff["nurse"]), drug="ketamine", version="X", title="T", text="x")
    _document(staff)
    with pytest.raises(TreatmentError, match="new version"):
        _document(staff)
