"""What fhir.resources does not check (engineering.md B3: it accepts ``status="finalized"`` and ``gender="woman"``):
the required bindings of the elements we emit, code-system URIs and code shapes, UCUM units, the US Core
vital-signs profiles' codes and units, and that every standard code we send is one of ours (codes.py or the
clinical core's scale table), so no mapper invents one.

``problems(resource) -> list[str]`` (empty: fine) takes an R4B model or its JSON dict; ``check(resource)`` raises
``ValueError`` listing them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ketaclinic.clinical.scales import SCALES
from ketaclinic.fhir import codes

#: Required bindings (FHIR R4 value sets) of the status-like elements we emit: resourceType -> {path: allowed}.
REQUIRED: dict[str, dict[str, frozenset[str]]] = {
    "Observation": {"status": frozenset({"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                         "entered-in-error", "unknown"})},
    "Patient": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Practitioner": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Condition": {},
    "MedicationRequest": {
        "status": frozenset({"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                             "unknown"}),
        "intent": frozenset({"proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                             "instance-order", "option"})},
    "MedicationAdministration": {"status": frozenset({"in-progress", "not-done", "on-hold", "completed",
                                                      "entered-in-error", "stopped", "unknown"})},
    "Encounter": {"status": frozenset({"planned", "arrived", "triaged", "in-progress", "onleave", "finished",
                                       "cancelled", "entered-in-error", "unknown"})},
    "QuestionnaireResponse": {"status": frozenset({"in-progress", "completed", "amended", "entered-in-error",
                                                   "stopped"})},
    "Questionnaire": {"status": frozenset({"draft", "active", "retired", "unknown"})},
    "AdverseEvent": {"actuality": frozenset({"actual", "potential"})},
    "DocumentReference": {"status": frozenset({"current", "superseded", "entered-in-error"}),
                          "docStatus": frozenset({"preliminary", "final", "amended", "entered-in-error"})},
    "AuditEvent": {"action": frozenset({"C", "R", "U", "D", "E"}), "outcome": frozenset({"0", "4", "8", "12"})},
    "Location": {"status": frozenset({"active", "suspended", "inactive"}), "mode": frozenset({"instance", "kind"})},
}
CONDITION_CLINICAL = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
CONDITION_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential", "confirmed", "refuted",
                                    "entered-in-error"})
#: FHIR R4 AllergyIntolerance.clinicalStatus / verificationStatus (required bindings).
ALLERGY_CLINICAL = frozenset({"active", "inactive", "resolved"})
ALLERGY_VERIFICATION = frozenset({"unconfirmed", "confirmed", "refuted", "entered-in-error"})

KNOWN_SYSTEMS = frozenset(
    v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str) and (":" in v)
) | {"http://terminology.hl7.org/CodeSystem/data-absent-reason",
     "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
     "http://terminology.hl7.org/CodeSystem/audit-entity-type",
     "http://terminology.hl7.org/CodeSystem/audit-event-type"}

SHAPES = {
    codes.LOINC: re.compile(r"^(LA)?\d{1,8}-\d$"),
    codes.RXNORM: re.compile(r"^\d{1,8}$"),
    codes.SNOMED: re.compile(r"^\d{6,18}$"),
    codes.ICD10CM: re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$"),
}
UCUM_UNITS = frozenset(u[0] for k, u in vars(codes).items() if k.startswith("UNIT_"))


def _catalogue() -> set[tuple[str, str]]:
    """Every standard (system, code) we may emit: codes.py and the scale table's LOINC codes (clinical.md §5a)."""
    out = {(c.system, c.code) for c in codes.all_codes()}
    for scale in SCALES.values():
        for code in (scale.loinc_total, scale.loinc_panel):
            if code and code not in codes.UNCONFIRMED:
                out.add((codes.LOINC, code))
        for it in scale.items:
            if it.loinc:
                out.add((codes.LOINC, it.loinc))
            for o in it.options:
                if o.loinc_answer:
                    out.add((codes.LOINC, o.loinc_answer))
    return out


CATALOGUE = _catalogue()
#: Systems whose every code must be in the catalogue (ICD-10-CM codes are the clinic's own diagnoses, checked for
#: shape only; local urn:ketaclinic: systems are ours).
CATALOGUED = frozenset({codes.LOINC, codes.RXNORM, codes.SNOMED, codes.UNII})


def _walk(node, path: str = "") -> Iterator[tuple[str, object]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _codes_of(concept: dict | None) -> set[tuple[str, str]]:
    return {(c.get("system"), c.get("code")) for c in (concept or {}).get("coding", [])}


def problems(resource) -> list[str]:
    data = resource if isinstance(resource, dict) else resource.model_dump(mode="json", exclude_none=True)
    rtype = data.get("resourceType", "")
    out: list[str] = []
    for element, allowed in REQUIRED.get(rtype, {}).items():
        if element in data and data[element] not in allowed:
            out.append(f"{rtype}.{element} {data[element]!r} is not in its required value set")
    for path, node in _walk(data):
        if not isinstance(node, dict):
            continue
        system, code = node.get("system"), node.get("code")
        if system and code is not None and ("display" in node or path.endswith("]") or "coding" in path):
            if system not in KNOWN_SYSTEMS and not system.startswith("urn:ketaclinic:"):
                out.append(f"{path}: unknown code system {system!r}")
            shape = SHAPES.get(system)
            if shape and not shape.match(str(code)):
                out.append(f"{path}: {code!r} is not a well-formed {system} code")
            if system in CATALOGUED and (system, code) not in CATALOGUE:
                out.append(f"{path}: {system}|{code} is not in the facade's code table (codes.py)")
        if "value" in node and system == codes.UCUM and code not in UCUM_UNITS:
            out.append(f"{path}: unit {code!r} is not one of our UCUM units")
        if "value" in node and ("unit" in node or "code" in node) and path.endswith("Quantity") and system != codes.UCUM:
            out.append(f"{path}: a quantity without the UCUM system")
    if rtype == "Observation":
        out += _observation(data)
    if rtype == "Condition":
        clinical = _codes_of(data.get("clinicalStatus"))
        verification = _codes_of(data.get("verificationStatus"))
        if any(c not in CONDITION_CLINICAL for _, c in clinical):
            out.append("Condition.clinicalStatus outside condition-clinical")
        if any(c not in CONDITION_VERIFICATION for _, c in verification):
            out.append("Condition.verificationStatus outside condition-ver-status")
        if (codes.CONDITION_VERIFICATION, "entered-in-error") in verification and clinical:
            out.append("Condition entered-in-error must have no clinicalStatus (con-5)")
        if not clinical and (codes.CONDITION_VERIFICATION, "entered-in-error") not in verification:
            out.append("Condition.clinicalStatus is required unless entered-in-error (con-5)")
    if rtype == "AllergyIntolerance":
        out += _allergy(data)
    return out


def _allergy(data: dict) -> list[str]:
    """Required bindings of the two statuses, invariants ait-1 and ait-2, and a code (1..1 in US Core)."""
    out = []
    clinical = _codes_of(data.get("clinicalStatus"))
    verification = _codes_of(data.get("verificationStatus"))
    if any(s != codes.ALLERGY_CLINICAL or c not in ALLERGY_CLINICAL for s, c in clinical):
        out.append("AllergyIntolerance.clinicalStatus outside allergyintolerance-clinical")
    if any(s != codes.ALLERGY_VERIFICATION or c not in ALLERGY_VERIFICATION for s, c in verification):
        out.append("AllergyIntolerance.verificationStatus outside allergyintolerance-verification")
    in_error = (codes.ALLERGY_VERIFICATION, "entered-in-error") in verification
    if in_error and clinical:
        out.append("AllergyIntolerance entered-in-error must have no clinicalStatus (ait-2)")
    if not in_error and not clinical:
        out.append("AllergyIntolerance.clinicalStatus is required unless entered-in-error (ait-1)")
    code = data.get("code") or {}
    if not (code.get("text") or "").strip() and not code.get("coding"):
        out.append("AllergyIntolerance without a code or text (US Core requires code)")
    return out


def _observation(data: dict) -> list[str]:
    out = []
    code = _codes_of(data.get("code"))
    vital = {c for s, c in code if s == codes.LOINC and c in codes.VITAL_CODES}
    categories = set()
    for cat in data.get("category", []):
        categories |= _codes_of(cat)
    if vital:
        (vcode,) = vital if len(vital) == 1 else (sorted(vital)[0],)
        if (codes.OBS_CATEGORY, "vital-signs") not in categories:
            out.append(f"vital sign {vcode} without the vital-signs category")
        if codes.VITAL_PROFILES[vcode] not in data.get("meta", {}).get("profile", []):
            out.append(f"vital sign {vcode} does not claim its profile {codes.VITAL_PROFILES[vcode]}")
        if not data.get("subject", {}).get("reference", "").startswith("Patient/"):
            out.append("a vital sign's subject must be a Patient")
        if "effectiveDateTime" not in data and "effectivePeriod" not in data:
            out.append("a vital sign needs an effective time")
        if vcode == codes.BP_PANEL.code:
            comps = {next(iter(_codes_of(c["code"])))[1]: c for c in data.get("component", [])}
            for part in (codes.SYSTOLIC.code, codes.DIASTOLIC.code):
                comp = comps.get(part)
                if comp is None:
                    out.append(f"blood pressure panel without component {part}")
                elif "valueQuantity" in comp and comp["valueQuantity"].get("code") != "mm[Hg]":
                    out.append(f"blood pressure component {part} not in mm[Hg]")
                elif "valueQuantity" not in comp and "dataAbsentReason" not in comp:
                    out.append(f"blood pressure component {part} has neither a value nor a dataAbsentReason")
        elif data.get("status") != "entered-in-error" or "valueQuantity" in data:
            q = data.get("valueQuantity")
            if q is None:
                out.append(f"vital sign {vcode} without valueQuantity")
            elif q.get("system") != codes.UCUM or q.get("code") != codes.VITAL_UNITS[vcode]:
                out.append(f"vital sign {vcode} must be in UCUM {codes.VITAL_UNITS[vcode]!r}, got {q.get('code')!r}")
        if vcode == codes.SPO2_PULSE_OX.code and (codes.LOINC, codes.SPO2.code) not in code:
            out.append("pulse oximetry without 2708-6 beside 59408-5")
    return out


def check(resource) -> None:
    found = problems(resource)
    if found:
        raise ValueError("; ".join(found))
