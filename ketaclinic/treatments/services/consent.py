"""Informed consent as a signed document version: the clinic's current consent for the session's drug, signed by
the patient in front of a clinician, linked to every session that relies on it. A new version (a change of text)
needs a new signature before the next dose."""

from __future__ import annotations

from django.db.models import Subquery
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.patients.models import name_key
from ketaclinic.treatments.models import ConsentDocument, ConsentSignature, TreatmentSession
from ketaclinic.treatments.services._common import TreatmentError, _lock, _roles, use_case


def current_consent(drug: str, today=None) -> ConsentDocument | None:
    """The version in force for ``drug``: the newest one already effective."""
    return _in_force(drug, today).first()


def _in_force(drug: str, today=None):
    today = today or timezone.localdate()
    return ConsentDocument.objects.filter(drug=drug, effective_from__lte=today).order_by("-effective_from", "-pk")


def valid_consent(s: TreatmentSession) -> ConsentSignature | None:
    """The patient's signature of the version in force for the session's drug (signed at this or an earlier
    session), or None. One query, with the document and the witness."""
    return (ConsentSignature.objects.select_related("document", "witnessed_by")
            .filter(patient=s.patient_id, document=Subquery(_in_force(s.drug).values("pk")[:1]))
            .order_by("-signed_at", "-pk").first())


#: "not read yet" for :func:`consent_missing` (None is a read that found no signature)
UNREAD = object()


def consent_missing(s: TreatmentSession, signature: ConsentSignature | None | object = UNREAD) -> str | None:
    """What stops the dose for want of consent, in a nurse's words; None when the current version is signed
    (``signature``: :func:`valid_consent`, when the caller has read it already)."""
    if (valid_consent(s) if signature is UNREAD else signature) is not None:
        return None
    doc = current_consent(s.drug)
    if doc is None:
        return (f"No consent document is set up for {s.get_drug_display()}: a clinic administrator adds it "
                "(Administration, Consent documents)")
    return f"Consent not signed: the patient signs “{doc.title}” version {doc.version}"


@use_case
def add_consent_document(*, actor: Actor, drug: str, version: str, title: str, text: str,
                         effective_from=None) -> ConsentDocument:
    """A new consent version (the clinic admin's; Django admin does the same through its audited form)."""
    _roles(actor, Role.CLINIC_ADMIN, what="add a consent document")
    errors = {}
    if drug not in dict(ConsentDocument._meta.get_field("drug").choices):
        errors["drug"] = "Choose ketamine or esketamine."
    for field, value in (("version", version), ("title", title), ("text", text)):
        if not str(value or "").strip():
            errors[field] = f"Give the {field}."
    if not errors and ConsentDocument.objects.filter(drug=drug, version=version.strip()).exists():
        errors["version"] = f"Version {version} exists: a change of text is a new version."
    if errors:
        raise TreatmentError(errors)
    doc = ConsentDocument.objects.create(drug=drug, version=version.strip()[:20], title=title.strip()[:200],
                                         text=text.strip(), effective_from=effective_from or timezone.localdate())
    audit.record(actor, AuditAction.CONSENT_DOCUMENT_ADDED, subject=doc, details={"drug": drug, "version": doc.version})
    return doc


@use_case
def sign_consent(*, actor: Actor, session: TreatmentSession, signer_name: str) -> ConsentSignature:
    """The patient signs the version in force, witnessed by the clinician recording it; the session is linked to
    the signature. The typed name must include the patient's legal family name."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="witness a consent signature")
    s = _lock(session)
    if s.dose_started_at or s.is_signed:
        raise TreatmentError({"signer_name": "Dosing has started: consent is signed before the dose."})
    doc = current_consent(s.drug)
    if doc is None:
        raise TreatmentError({"signer_name": consent_missing(s)})
    name = " ".join(str(signer_name or "").split())[:200]
    if not name:
        raise TreatmentError({"signer_name": "Type the patient's full name as they sign."})
    if name_key(s.patient.legal_family_name) not in name_key(name):
        raise TreatmentError({"signer_name": f"The signed name must include the patient's legal family name "
                                             f"({s.patient.legal_family_name}): check it is the right patient."})
    signature = ConsentSignature.objects.create(patient=s.patient, document=doc, signer_name=name,
                                                signed_at=timezone.now(), witnessed_by=actor.user)
    s.consent = signature
    s.save(update_fields=["consent"])
    audit.record(actor, AuditAction.SESSION_CONSENT_SIGNED, subject=s, patient=s.patient,
                 details={"document": doc.pk, "version": doc.version, "drug": doc.drug, "signer_name": name})
    return signature
