"""Signing the session note (the nurse, then a second person as the prescriber) and addenda to a signed note."""

from __future__ import annotations

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.treatments import stock
from ketaclinic.treatments.models import Addendum, TreatmentSession
from ketaclinic.treatments.services._common import (
    FINISHED,
    Refused,
    TreatmentError,
    _intact,
    _roles,
    use_case,
)

SIGNED = {Role.NURSE: AuditAction.SESSION_NOTE_SIGNED_NURSE, Role.PRESCRIBER: AuditAction.SESSION_NOTE_SIGNED_PRESCRIBER}


@use_case
def sign_note(*, actor: Actor, session: TreatmentSession, as_role: str,
              summary: str = "") -> TreatmentSession | Refused:
    """Nurse signs first (with the summary), then the prescriber co-signs. After the first signature the session
    record is read-only; corrections are addenda. The co-signature is a second person's: someone holding both
    roles cannot co-sign the note they signed as the nurse (that refusal is audited and kept: :class:`Refused`)."""
    s = (TreatmentSession.objects.select_for_update(of=("self",)).select_related("patient", "patient__clinic")
         .get(pk=session.pk))
    _intact(s)
    if s.status not in FINISHED:
        raise TreatmentError("The note is signed after discharge.")
    now = timezone.now()
    if as_role == Role.NURSE:
        _roles(actor, Role.NURSE, what="sign as the nurse")
        if s.nurse_signed_at:
            raise TreatmentError("The nurse has already signed; the note is read-only. Add an addendum.")
        account = stock.account(s)
        if account is not None and account.problems:
            raise TreatmentError({"drug_account": "The controlled-substance account of this session does not "
                                  "balance: " + " ".join(account.problems)})
        if not summary.strip() and not s.note_summary:
            raise TreatmentError({"note_summary": "Write the session summary before signing."})
        if summary.strip():
            s.note_summary = summary.strip()[:8000]
        s.nurse_signed_by, s.nurse_signed_at = actor.user, now
    elif as_role == Role.PRESCRIBER:
        _roles(actor, Role.PRESCRIBER, what="co-sign as the prescriber")
        if s.prescriber_signed_at:
            raise TreatmentError("The prescriber has already signed.")
        if not s.nurse_signed_at:
            raise TreatmentError("The nurse signs the note first.")
        if summary.strip():
            raise TreatmentError({"note_summary": "The note is signed by the nurse: add an addendum instead of "
                                  "editing it."})
        if actor.user_id is not None and actor.user_id == s.nurse_signed_by_id:
            audit.record(actor, AuditAction.SESSION_NOTE_SIGNATURE_REFUSED, subject=s, patient=s.patient,
                         details={"as_role": as_role, "reason": "same user as the nurse signer"})
            return Refused(TreatmentError("You signed this note as the nurse: the co-signature must be another "
                                          "prescriber's."))
        s.prescriber_signed_by, s.prescriber_signed_at = actor.user, now
    else:
        raise TreatmentError("Sign as nurse or prescriber.")
    s.save()
    seals.record(actor, SIGNED[as_role], s, patient=s.patient)
    return s


@use_case
def add_addendum(*, actor: Actor, session: TreatmentSession, text: str) -> Addendum:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="add an addendum")
    s = TreatmentSession.objects.select_for_update(of=("self",)).select_related("patient").get(pk=session.pk)
    if not s.is_signed:
        raise TreatmentError("The note is not signed yet: edit it directly.")
    if not text.strip():
        raise TreatmentError({"text": "Write the addendum."})
    a = Addendum.objects.create(session=s, text=text.strip()[:8000], by=actor.user)
    audit.record(actor, AuditAction.SESSION_ADDENDUM_ADDED, subject=s, patient=s.patient, details={"text": a.text})
    return a
