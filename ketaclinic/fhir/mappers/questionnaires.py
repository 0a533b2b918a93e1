"""Questionnaire (one per scale the clinical core defines) and QuestionnaireResponse (measures.Administration).

Item text is carried only for instruments that may be reproduced (PHQ-9, GAD-7, PCL-5; ``Scale.reproducible_text``);
the others carry their short labels, as the app does.
"""

from __future__ import annotations

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ketaclinic.clinical.scales import SCALES
from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, patient_ref, practitioner_ref, ref
from ketaclinic.fhir.mappers.observations import answer_concept, item_concept

#: measures.Administration.Status -> QuestionnaireResponse.status (required binding).
QR_STATUS = {"draft": "in-progress", "final": "completed", "amended": "amended",
             "entered-in-error": "entered-in-error"}


def questionnaire_id(scale_code: str) -> str:
    return scale_code.replace("_", "-")


def scale_code_of(questionnaire_id_: str) -> str | None:
    code = questionnaire_id_.replace("-", "_")
    return code if code in SCALES else None


def canonical(scale_code: str) -> str:
    return f"urn:ketaclinic:questionnaire:{questionnaire_id(scale_code)}"


def questionnaire(scale) -> list[Questionnaire]:
    """One scale of ``ketaclinic.clinical.scales.SCALES``."""
    items = []
    for it in scale.items:
        options = []
        for o in it.options:
            if o.loinc_answer:
                options.append({"valueCoding": {"system": codes.LOINC, "code": o.loinc_answer, "display": o.label}})
            else:
                options.append({"valueCoding": {"system": codes.LOCAL_SCALE_ITEM, "code": str(o.value),
                                                "display": o.label}})
        concept = item_concept(scale.code, it.id)
        loinc = [c for c in concept["coding"] if c["system"] == codes.LOINC]
        items.append({
            "linkId": it.id,
            "code": loinc or None,
            "text": it.text if (scale.reproducible_text and it.text) else it.label,
            "type": "choice",
            "required": it.asked_when in (None, "always"),
            "answerOption": options,
        })
    return [Questionnaire(
        id=questionnaire_id(scale.code),
        url=canonical(scale.code),
        name=scale.code.upper(),
        title=scale.name,
        status="active",
        subjectType=["Patient"],
        description=f"{scale.name} ({scale.recall}). Scoring and source: {scale.source}",
        item=items,
    )]


def _local_answer(scale_code: str, item_id: str, value: int) -> dict:
    """The Questionnaire's own answerOption for a scale without LOINC answers (a ``choice`` item is answered with
    one of its options' ``valueCoding``, in ``urn:ketaclinic:scale-item``)."""
    scale = SCALES.get(scale_code)
    item = next((it for it in scale.items if it.id == item_id), None) if scale else None
    option = next((o for o in item.options if o.value == value), None) if item else None
    out = {"system": codes.LOCAL_SCALE_ITEM, "code": str(value)}
    if option is not None:
        out["display"] = option.label
    return out


def questionnaire_response(a) -> list[QuestionnaireResponse]:
    """An administration with its answers (``answers`` prefetched); drafts are in-progress."""
    items = []
    for ans in a.answers.all():
        answer = answer_concept(a.scale, ans.item_id, ans.value)
        value = {"valueCoding": answer["coding"][0] if answer else _local_answer(a.scale, ans.item_id, ans.value)}
        items.append({"linkId": ans.item_id, "text": item_concept(a.scale, ans.item_id)["text"], "answer": [value]})
    author = patient_ref(a.patient) if a.source == "portal" else practitioner_ref(a.entered_by)
    return [QuestionnaireResponse(
        id=str(a.external_id),
        questionnaire=canonical(a.scale),
        status=QR_STATUS[a.status],
        subject=patient_ref(a.patient),
        encounter=ref("Encounter", a.session.external_id) if a.session_id else None,
        authored=instant(a.administered_at),
        author=author,
        source=patient_ref(a.patient),
        item=items or None,
    )]
