"""Observation: vital signs (US Core vital-signs profiles) and every scale's total and items.

Sources of vital signs: ``treatments.VitalsReading`` (blood pressure panel, heart rate, respiratory rate, SpO2: one
Observation per measured sign), ``treatments.TreatmentSession.weight_kg`` (the day's weight at pre-checks) and
``patients.BodyMeasurement`` (weight and height). Scales: ``measures.Administration`` (the total and one
Observation per answered item, category survey, ``derivedFrom`` the QuestionnaireResponse) and
``treatments.SessionRating`` (CADSS, MOAA/S totals during a session).
"""

from __future__ import annotations

from fhir.resources.R4B.observation import Observation

from ketaclinic.clinical.scales import SCALES
from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import child_id, instant, patient_ref, practitioner_ref, ref

#: measures.Administration.Status / BodyMeasurement.Status -> Observation.status (required binding).
OBS_STATUS = {"final": "final", "amended": "amended", "entered-in-error": "entered-in-error",
              "draft": "preliminary"}


def _vital(oid: str, code: codes.Code, *, subject: dict, when, performer, status: str = "final", value=None,
           unit=None, components=None, encounter=None, extra_codes=(), issued=None) -> Observation:
    concept = {"coding": [code.coding(), *(c.coding() for c in extra_codes)], "text": code.display}
    return Observation(
        id=oid,
        meta={"profile": [codes.VITAL_PROFILES[code.code]]},
        status=status,
        category=[codes.VITAL_SIGNS_CATEGORY.concept()],
        code=concept,
        subject=subject,
        encounter=encounter,
        effectiveDateTime=instant(when),
        issued=instant(issued),
        performer=[performer] if performer else None,
        valueQuantity=codes.quantity(value, unit) if value is not None else None,
        component=components,
    )


def _wanted(keep, code: codes.Code) -> bool:
    return keep is None or keep({"coding": [code.coding()]})


def vitals_reading(r, keep=None) -> list[Observation]:
    """One reading (its session and patient loaded, ``fhir_n`` annotated) -> up to four Observations.
    ``keep(code concept) -> bool``: build only the Observations whose code it keeps (a search by code)."""
    session = r.session
    subject = patient_ref(session.patient)
    encounter = ref("Encounter", session.external_id)
    common = {"subject": subject, "when": r.taken_at, "performer": practitioner_ref(r.recorded_by),
              "encounter": encounter, "issued": r.recorded_at}
    out = []

    def oid(suffix: str) -> str:
        return child_id(session.external_id, "v", r.fhir_n, suffix)

    if (r.systolic_mmHg is not None or r.diastolic_mmHg is not None) and _wanted(keep, codes.BP_PANEL):
        components = []
        for code, value in ((codes.SYSTOLIC, r.systolic_mmHg), (codes.DIASTOLIC, r.diastolic_mmHg)):
            comp: dict = {"code": code.concept(code.display)}
            if value is None:
                comp["dataAbsentReason"] = {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed",
                    "display": "Not Performed"}]}
            else:
                comp["valueQuantity"] = codes.quantity(value, codes.UNIT_MMHG)
            components.append(comp)
        out.append(_vital(oid("bp"), codes.BP_PANEL, components=components, **common))
    if r.heart_rate_bpm is not None and _wanted(keep, codes.HEART_RATE):
        out.append(_vital(oid("hr"), codes.HEART_RATE, value=r.heart_rate_bpm, unit=codes.UNIT_PER_MIN, **common))
    if r.respiratory_rate_per_min is not None and _wanted(keep, codes.RESPIRATORY_RATE):
        out.append(_vital(oid("rr"), codes.RESPIRATORY_RATE, value=r.respiratory_rate_per_min,
                          unit=codes.UNIT_PER_MIN, **common))
    if r.spo2_percent is not None and (_wanted(keep, codes.SPO2_PULSE_OX) or _wanted(keep, codes.SPO2)):
        out.append(_vital(oid("spo2"), codes.SPO2_PULSE_OX, value=r.spo2_percent, unit=codes.UNIT_PERCENT,
                          extra_codes=(codes.SPO2,), **common))
    return out


def session_weight(s) -> list[Observation]:
    """The weight taken at a treatment session's pre-checks (kg)."""
    if s.weight_kg is None:
        return []
    when = s.checked_in_at or s.scheduled_start
    return [_vital(f"{s.external_id}-weight", codes.BODY_WEIGHT, subject=patient_ref(s.patient), when=when,
                   performer=practitioner_ref(s.weight_recorded_by), value=s.weight_kg, unit=codes.UNIT_KG,
                   encounter=ref("Encounter", s.external_id))]


def body_measurement(m) -> list[Observation]:
    """Weight and/or height measured at the desk (stored in kg and cm); ``fhir_n`` annotated."""
    status = OBS_STATUS[m.status]
    common = {"subject": patient_ref(m.patient), "when": m.measured_at, "performer": practitioner_ref(m.recorded_by),
              "status": status}
    out = []
    if m.weight_kg is not None:
        out.append(_vital(child_id(m.patient.external_id, "bm", m.fhir_n, "weight"), codes.BODY_WEIGHT,
                          value=m.weight_kg, unit=codes.UNIT_KG, **common))
    if m.height_cm is not None:
        out.append(_vital(child_id(m.patient.external_id, "bm", m.fhir_n, "height"), codes.BODY_HEIGHT,
                          value=m.height_cm, unit=codes.UNIT_CM, **common))
    return out


# ------------------------------------------------------------------------------------------------- scales
def scale_concept(scale_code: str, *, total: bool = True) -> dict:
    """The code of a scale's total: its LOINC total code where the core has one, with our own scale code."""
    scale = SCALES.get(scale_code)
    name = scale.name if scale else scale_code
    coding = []
    if scale and scale.loinc_total and scale.loinc_total not in codes.UNCONFIRMED:
        coding.append({"system": codes.LOINC, "code": scale.loinc_total, "display": f"{name} total score"})
    coding.append({"system": codes.LOCAL_SCALE, "code": scale_code, "display": name})
    return {"coding": coding, "text": f"{name} total score" if total else name}


def item_concept(scale_code: str, item_id: str) -> dict:
    scale = SCALES.get(scale_code)
    item = None
    if scale:
        item = next((it for it in scale.items if it.id == item_id), None)
    label = item.label if item else item_id
    name = scale.name if scale else scale_code
    coding = []
    if item and item.loinc:
        coding.append({"system": codes.LOINC, "code": item.loinc, "display": item.text or item.label})
    coding.append({"system": codes.LOCAL_SCALE_ITEM, "code": f"{scale_code}.{item_id}", "display": f"{name} {label}"})
    return {"coding": coding, "text": f"{name}: {label}"}


def answer_concept(scale_code: str, item_id: str, value: int) -> dict | None:
    """The LOINC answer code of an item's answer, where the core has one (PHQ-9's LA codes)."""
    scale = SCALES.get(scale_code)
    if not scale:
        return None
    item = next((it for it in scale.items if it.id == item_id), None)
    option = next((o for o in item.options if o.value == value), None) if item else None
    if option is None or not option.loinc_answer:
        return None
    return {"coding": [{"system": codes.LOINC, "code": option.loinc_answer, "display": option.label}],
            "text": option.label}


def administration(a, keep=None) -> list[Observation]:
    """A scored administration (final, amended or entered-in-error; drafts are not emitted): the total (when the
    core gave one) and one Observation per answered item (``answers`` prefetched). ``keep`` as for
    :func:`vitals_reading`."""
    if a.status == "draft":
        return []
    status = OBS_STATUS[a.status]
    subject = patient_ref(a.patient)
    performer = [subject] if a.source == "portal" else ([practitioner_ref(a.entered_by)] if a.entered_by else None)
    derived = [ref("QuestionnaireResponse", a.external_id)]
    common = {"status": status, "category": [codes.SURVEY_CATEGORY.concept()], "subject": subject,
              "effectiveDateTime": instant(a.administered_at), "issued": instant(a.finalized_at),
              "performer": performer, "derivedFrom": derived,
              "encounter": ref("Encounter", a.session.external_id) if a.session_id else None}
    out = []
    members = []
    for ans in a.answers.all():
        oid = f"{a.external_id}-{ans.item_id.replace('_', '.')}"
        members.append(ref("Observation", oid))
        concept = item_concept(a.scale, ans.item_id)
        if keep is not None and not keep(concept):
            continue
        answer = answer_concept(a.scale, ans.item_id, ans.value)
        value = {"valueCodeableConcept": answer} if answer else {"valueInteger": ans.value}
        out.append(Observation(id=oid, code=concept, **common, **value))
    if a.total is not None and (keep is None or keep(scale_concept(a.scale))):
        interpretation = [{"text": a.band}] if a.band else None
        out.insert(0, Observation(id=f"{a.external_id}-total", code=scale_concept(a.scale), valueInteger=a.total,
                                  interpretation=interpretation, hasMember=members or None, **common))
    return out


def session_rating(r) -> list[Observation]:
    """CADSS or MOAA/S scored at the chair (``fhir_n`` annotated): the total and one Observation per answered item
    (``answers``: item id -> value, as the core scored them)."""
    session = r.session
    common = {"status": "final", "category": [codes.SURVEY_CATEGORY.concept()], "subject": patient_ref(session.patient),
              "encounter": ref("Encounter", session.external_id), "effectiveDateTime": instant(r.at),
              "performer": [practitioner_ref(r.recorded_by)],
              "note": [{"text": f"Timepoint: {r.get_timepoint_display()}"}]}
    out, members = [], []
    for item_id, value in (r.answers or {}).items():
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        oid = child_id(session.external_id, "r", r.fhir_n, item_id.replace("_", ".").lower())
        members.append(ref("Observation", oid))
        out.append(Observation(id=oid, code=item_concept(r.scale, item_id), valueInteger=value, **common))
    if r.total is not None:
        out.insert(0, Observation(id=child_id(session.external_id, "r", r.fhir_n, "total"), code=scale_concept(r.scale),
                                  valueInteger=r.total, interpretation=[{"text": r.band}] if r.band else None,
                                  hasMember=members or None, **common))
    return out
