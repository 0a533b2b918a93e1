"""AllergyIntolerance (patients.Patient.allergies, free text; US Core AllergyIntolerance).

The record keeps no coded allergies: a patient's allergies are one free-text field, typed at registration or at an
edit of the record ("No known drug allergies" when confirmed none). So the text is sent as recorded, trimmed, in
``code.text``: it is not split into substances, not mapped to SNOMED CT or RxNorm, and "No known drug allergies" is
not coded either (clinical.md gives no allergy code). US Core binds ``code`` extensibly, and its guidance on that
binding names AllergyIntolerance.code: a server sends a code from the value set, an alternative code, or text when
only text is available (US Core "Using Codes in US Core Profiles"). Text alone is that last case; a strict reading
of FHIR's extensible rule would still want a code wherever the text names a listed substance, which only a person
coding the text could supply, so a receiver that needs codes codes the text itself, reading it as written.

* A patient whose field is blank gives no resource: nothing recorded is not "no allergies".
* One resource per patient, id ``<patient id>-allergies``.
* ``clinicalStatus`` active, ``verificationStatus`` unconfirmed: the record does not say who confirmed the list or
  how, so it is not sent as confirmed.
* No ``recordedDate``: the patient row keeps when it was created, not when its allergies last changed (sending the
  creation time would date a later edit wrongly). No ``recorder`` for the same reason.
"""

from __future__ import annotations

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import patient_ref

PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance"
#: The id's fixed tail after the patient's public id.
SUFFIX = "-allergies"


def allergy_id(patient) -> str:
    return f"{patient.external_id}{SUFFIX}"


#: What counts as blank around the text: ASCII whitespace, the same set the database filter reads
#: (``registry.allergies_qs``), so every row it selects gives exactly one resource on SQLite and PostgreSQL alike.
BLANK = " \t\n\r\f\v"
HAS_TEXT = r"[^ \t\n\r\f\v]"


def allergy_intolerance(p) -> list[AllergyIntolerance]:
    text = (p.allergies or "").strip(BLANK)
    if not text:
        return []
    return [
        AllergyIntolerance(
            id=allergy_id(p),
            meta={"profile": [PROFILE]},
            clinicalStatus=codes.ALLERGY_ACTIVE.concept(),
            verificationStatus=codes.ALLERGY_UNCONFIRMED.concept(),
            # the recorded text, as recorded: the record keeps no coded allergies (see the module's docstring)
            code={"text": text},
            patient=patient_ref(p),
        )
    ]
