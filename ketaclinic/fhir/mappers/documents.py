"""DocumentReference for a treatment session's signed note, and Provenance for the signatures (the note's by the
nurse and the prescriber, an order's by its prescriber)."""

from __future__ import annotations

import base64

from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.provenance import Provenance

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, patient_ref, practitioner_ref, ref

SESSION_NOTE = "session-note"


def _signers(s) -> list[tuple]:
    out = []
    if s.nurse_signed_at:
        out.append((s.nurse_signed_by, s.nurse_signed_at))
    if s.prescriber_signed_at:
        out.append((s.prescriber_signed_by, s.prescriber_signed_at))
    return out


def session_note(s) -> list[DocumentReference]:
    """The signed session note (its text; the printable PDF is the staff session record). Unsigned sessions give
    none. Addenda (prefetched ``addenda``) follow the note in the text, each with who and when."""
    signers = _signers(s)
    if not signers:
        return []
    text = s.note_summary or ""
    for a in s.addenda.all():
        text += f"\n\nAddendum {instant(a.at)} by {a.by.label}:\n{a.text}"
    last = max(at for _, at in signers)
    return [DocumentReference(
        id=f"{s.external_id}-note",
        status="current",
        docStatus="final",
        type={"coding": [{"system": codes.LOCAL_DOCUMENT, "code": SESSION_NOTE, "display": "Treatment session note"}],
              "text": "Treatment session note"},
        category=[codes.DOC_CLINICAL_NOTE.concept()],
        subject=patient_ref(s.patient),
        date=instant(last),
        author=[practitioner_ref(u) for u, _ in signers],
        authenticator=practitioner_ref(s.prescriber_signed_by or s.nurse_signed_by),
        content=[{"attachment": {"contentType": "text/plain; charset=utf-8", "language": "en",
                                 "data": base64.b64encode(text.encode()).decode("ascii"),
                                 "title": f"{s} note", "creation": instant(last)}}],
        context={"encounter": [ref("Encounter", s.external_id)],
                 "period": {"start": instant(s.checked_in_at or s.scheduled_start),
                            "end": instant(s.discharged_at or s.transferred_at)}},
    )]


def session_note_provenance(s) -> list[Provenance]:
    signers = _signers(s)
    if not signers:
        return []
    agents, signatures = [], []
    for i, (user, at) in enumerate(signers):
        agent_type = codes.PROVENANCE_AUTHOR if i == 0 else codes.PROVENANCE_VERIFIER
        sig = codes.SIGNATURE_AUTHOR if i == 0 else codes.SIGNATURE_VERIFICATION
        agents.append({"type": agent_type.concept(), "who": practitioner_ref(user)})
        signatures.append({"type": [sig.coding()], "when": instant(at), "who": practitioner_ref(user)})
    return [Provenance(
        id=f"{s.external_id}-note-signature",
        target=[ref("DocumentReference", f"{s.external_id}-note"), ref("Encounter", s.external_id)],
        recorded=instant(max(at for _, at in signers)),
        agent=agents,
        signature=signatures,
        activity={"text": "Signed the treatment session note"},
    )]


def order_provenance(o) -> list[Provenance]:
    if o.signed_at is None:
        return []
    return [Provenance(
        id=f"{o.external_id}-signature",
        target=[ref("MedicationRequest", o.external_id)],
        recorded=instant(o.signed_at),
        agent=[{"type": codes.PROVENANCE_AUTHOR.concept(), "who": practitioner_ref(o.signed_by)}],
        signature=[{"type": [codes.SIGNATURE_AUTHOR.coding()], "when": instant(o.signed_at),
                    "who": practitioner_ref(o.signed_by)}],
        activity={"text": "Signed the treatment order"},
    )]
