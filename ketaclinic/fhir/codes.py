"""Every code the FHIR facade emits, with its source: one table, so no mapper writes a code of its own.

Status letters follow the clinical reference clinical.md: C confirmed, S supported, U unconfirmed. A code marked U in
clinical.md is NOT emitted (an absent coding is better than a wrong one); where that leaves a concept without a
standard code the resource carries ``text`` and our own local code (``LOCAL_*`` systems below), and
docs/fhir.md says so.

Sources cited as "FHIR R4 <page>" are pages of the FHIR R4 (4.0.1) specification, http://hl7.org/fhir/R4/; "US Core"
is the US Core Implementation Guide (http://hl7.org/fhir/us/core/).
"""

from __future__ import annotations

from dataclasses import dataclass

# ----------------------------------------------------------------------------------------------- systems
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
UNII = "http://fdasis.nlm.nih.gov"
NPI = "http://hl7.org/fhir/sid/us-npi"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
MED_ADMIN_PERFORM_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
AUDIT_EVENT_TYPE = "http://dicom.nema.org/resources/ontology/DCM"
DOC_CLASS = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"

#: Our own identifiers and local codes (not standard codes: the concept has no confirmed standard code). A system
#: under urn:ketaclinic: names a KetaClinic install's own code list; docs/fhir.md lists them.
LOCAL_MRN = "urn:ketaclinic:mrn"
LOCAL_SCALE = "urn:ketaclinic:scale"
LOCAL_SCALE_ITEM = "urn:ketaclinic:scale-item"
LOCAL_ADVERSE_EVENT = "urn:ketaclinic:adverse-event"
LOCAL_DRUG = "urn:ketaclinic:drug"
LOCAL_ENCOUNTER_TYPE = "urn:ketaclinic:encounter-type"
LOCAL_AUDIT_ACTION = "urn:ketaclinic:audit-action"
LOCAL_ROLE = "urn:ketaclinic:role"
LOCAL_DOCUMENT = "urn:ketaclinic:document"
LOCAL_DOCUMENT_CATEGORY = "urn:ketaclinic:document-category"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str
    source: str

    def coding(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}

    def concept(self, text: str | None = None) -> dict:
        out: dict = {"coding": [self.coding()]}
        if text:
            out["text"] = text
        return out


_VS = "clinical.md §5a (C; FHIR R5 ValueSet observation-vitalsignresult)"

#: LOINC codes the clinical core carries that clinical.md marks U: never emitted (PCL-5 total 91006-2).
UNCONFIRMED = frozenset({"91006-2"})

# ----------------------------------------------------------------------------------------------- vital signs
VITAL_SIGNS_CATEGORY = Code(OBS_CATEGORY, "vital-signs", "Vital Signs", "FHIR R4 codesystem-observation-category")
SURVEY_CATEGORY = Code(OBS_CATEGORY, "survey", "Survey", "FHIR R4 codesystem-observation-category")
BP_PANEL = Code(LOINC, "85354-9", "Blood pressure panel with all children optional", _VS)
SYSTOLIC = Code(LOINC, "8480-6", "Systolic blood pressure", _VS)
DIASTOLIC = Code(LOINC, "8462-4", "Diastolic blood pressure", _VS)
HEART_RATE = Code(LOINC, "8867-4", "Heart rate", _VS)
RESPIRATORY_RATE = Code(LOINC, "9279-1", "Respiratory rate", _VS)
SPO2_PULSE_OX = Code(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
                     _VS + "; the US Core pulse-oximetry profile fixes 59408-5")
SPO2 = Code(LOINC, "2708-6", "Oxygen saturation in Arterial blood",
            _VS + "; the FHIR vital-signs oxygen-saturation profile requires 2708-6 beside 59408-5")
BODY_WEIGHT = Code(LOINC, "29463-7", "Body weight", _VS)
BODY_HEIGHT = Code(LOINC, "8302-2", "Body height", _VS)

#: UCUM units of the vital signs (US Core vital-signs profiles bind these units).
UNIT_MMHG = ("mm[Hg]", "mmHg")
UNIT_PER_MIN = ("/min", "/min")
UNIT_PERCENT = ("%", "%")
UNIT_KG = ("kg", "kg")
UNIT_CM = ("cm", "cm")
UNIT_MG = ("mg", "mg")
UNIT_MG_PER_KG = ("mg/kg", "mg/kg")
UNIT_ML = ("mL", "mL")
UNIT_ML_PER_H = ("mL/h", "mL/h")
UNIT_MIN = ("min", "min")

#: Per vital-sign LOINC code: its UCUM unit (US Core vital-signs profiles).
VITAL_UNITS = {
    SYSTOLIC.code: UNIT_MMHG[0], DIASTOLIC.code: UNIT_MMHG[0], HEART_RATE.code: UNIT_PER_MIN[0],
    RESPIRATORY_RATE.code: UNIT_PER_MIN[0], SPO2_PULSE_OX.code: UNIT_PERCENT[0], BODY_WEIGHT.code: UNIT_KG[0],
    BODY_HEIGHT.code: UNIT_CM[0],
}
#: The US Core / FHIR vital-signs profile of each top-level vital-sign code.
VITAL_PROFILES = {
    BP_PANEL.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure",
    HEART_RATE.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-heart-rate",
    RESPIRATORY_RATE.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-respiratory-rate",
    SPO2_PULSE_OX.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-pulse-oximetry",
    BODY_WEIGHT.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-weight",
    BODY_HEIGHT.code: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-height",
}
VITAL_CODES = frozenset(VITAL_PROFILES)

# ----------------------------------------------------------------------------------------------- medications
#: Esketamine: RxNorm SCDF 2201623 and SBDF 2201625 (clinical.md §5b, C). Ketamine: clinical.md gives its
#: ingredient RxCUI 6130 only as U and the injection SCDs' strengths as S, so no RxNorm code is emitted for it; the
#: UNII of ketamine hydrochloride (C) identifies the substance instead.
ESKETAMINE_SCDF = Code(RXNORM, "2201623", "Esketamine Nasal Spray", "clinical.md §5b (C; ndclist.com/rxnorm/rxcui/2201623)")
ESKETAMINE_SBDF = Code(RXNORM, "2201625", "Esketamine Nasal Spray [Spravato]",
                       "clinical.md §5b (C; ndclist.com/rxnorm/rxcui/2201625)")
KETAMINE_HCL_UNII = Code(UNII, "O18YUO0I83", "Ketamine hydrochloride", "clinical.md §5b UNII row (C; openFDA)")
ESKETAMINE_HCL_UNII = Code(UNII, "L8P1H35P2Z", "Esketamine hydrochloride", "clinical.md §5b UNII row (C; openFDA)")

DRUG_CODINGS: dict[str, tuple[Code, ...]] = {
    "ketamine": (KETAMINE_HCL_UNII,),
    "esketamine": (ESKETAMINE_SCDF, ESKETAMINE_SBDF, ESKETAMINE_HCL_UNII),
}

_ROUTES_SRC = "FHIR R4 valueset-route-codes (SNOMED CT, expansion 2019-11-01)"
ROUTES: dict[str, Code] = {
    "iv": Code(SNOMED, "47625008", "Intravenous route", _ROUTES_SRC),
    "im": Code(SNOMED, "78421000", "Intramuscular route", _ROUTES_SRC),
    "intranasal": Code(SNOMED, "46713006", "Nasal route", _ROUTES_SRC),
}

PERFORMER_FUNCTION_PERFORMER = Code(MED_ADMIN_PERFORM_FUNCTION, "performer", "Performer",
                                    "FHIR R4 codesystem-med-admin-perform-function")
PERFORMER_FUNCTION_VERIFIER = Code(MED_ADMIN_PERFORM_FUNCTION, "verifier", "Verifier",
                                   "FHIR R4 codesystem-med-admin-perform-function")

# ----------------------------------------------------------------------------------------------- conditions
CONDITION_CATEGORY_PROBLEM = Code(CONDITION_CATEGORY, "problem-list-item", "Problem List Item",
                                  "FHIR R4 codesystem-condition-category")
#: ICD-10-CM codes are those the clinic recorded (patients.Diagnosis.code, chosen from the core's list, which
#: cites clinical.md §5c); the mapper emits them as stored under the ICD-10-CM system.

# ----------------------------------------------------------------------------------------------- allergies
#: The record keeps allergies as free text only (patients.Patient.allergies), so an AllergyIntolerance carries
#: these two statuses and the text as recorded: no substance or reaction code (none is coded in the record, and
#: clinical.md gives no allergy code, not even one for "No known drug allergies").
ALLERGY_ACTIVE = Code(ALLERGY_CLINICAL, "active", "Active", "FHIR R4 codesystem-allergyintolerance-clinical")
ALLERGY_UNCONFIRMED = Code(ALLERGY_VERIFICATION, "unconfirmed", "Unconfirmed",
                           "FHIR R4 codesystem-allergyintolerance-verification")

# ----------------------------------------------------------------------------------------------- encounters
AMBULATORY = Code(ACT_CODE, "AMB", "ambulatory", "FHIR R4 v3-ActCode (Encounter.class extensible binding)")

# ----------------------------------------------------------------------------------------------- provenance
PROVENANCE_AUTHOR = Code(PROVENANCE_PARTICIPANT, "author", "Author", "FHIR R4 codesystem-provenance-participant-type")
PROVENANCE_VERIFIER = Code(PROVENANCE_PARTICIPANT, "verifier", "Verifier",
                           "FHIR R4 codesystem-provenance-participant-type")
SIGNATURE_AUTHOR = Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.1", "Author's Signature",
                        "FHIR R4 valueset-signature-type (ASTM E1762-95)")
SIGNATURE_VERIFICATION = Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.5", "Verification Signature",
                              "FHIR R4 valueset-signature-type (ASTM E1762-95)")

# ----------------------------------------------------------------------------------------------- audit
AUDIT_REST = Code("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation",
                  "FHIR R4 codesystem-audit-event-type")

# ----------------------------------------------------------------------------------------------- documents
DOC_CLINICAL_NOTE = Code(DOC_CLASS, "clinical-note", "Clinical Note",
                         "US Core DocumentReference category (us-core-documentreference-category)")
#: A superbill is no clinical note; US Core's category binding is extensible, so a document it does not cover
#: carries our own category.
DOC_BILLING = Code(LOCAL_DOCUMENT_CATEGORY, "billing", "Billing statement",
                   "our own code: US Core's us-core-documentreference-category has clinical-note only "
                   "(extensible binding)")


def quantity(value, unit: tuple[str, str]) -> dict:
    """A UCUM Quantity (``unit`` as one of the ``UNIT_*`` pairs: code, human unit)."""
    return {"value": value, "unit": unit[1], "system": UCUM, "code": unit[0]}


def all_codes() -> list[Code]:
    """Every :class:`Code` in this module (docs and the test that each has a source)."""
    out: list[Code] = []
    for value in globals().values():
        if isinstance(value, Code):
            out.append(value)
        elif isinstance(value, dict):
            out.extend(v for v in value.values() if isinstance(v, Code))
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Code))
    return out
