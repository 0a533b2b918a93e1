"""The JSON API (OpenAPI docs at /api/v1/docs). Session-authenticated; each operation names its roles.

Every query parameter and body field is typed; free text is :func:`text` (a length, and no control characters), so
bad input is a 422 naming the parameter, never a server error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import SessionAuth
from pydantic import AfterValidator, Field, StringConstraints

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.inputs import check_text
from ketaclinic.patients import careteam
from ketaclinic.patients import services as patient_services
from ketaclinic.patients.forms import SEARCH_MAX
from ketaclinic.patients.models import Patient

api = NinjaAPI(title="KetaClinic API", version="1.0.0", urls_namespace="api-1.0.0", auth=SessionAuth(),
               docs_url="/docs")

CHART_READERS = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.FRONT_DESK, Role.BILLING, Role.COMPLIANCE,
                 Role.CLINIC_ADMIN}


def text(max_length: int, *, label: str):
    """A one-line free-text parameter or field of the API: stripped, 1 to ``max_length`` characters, refused by
    :func:`ketaclinic.inputs.check_text` when it holds a control character (its InputError is a ValueError, so
    pydantic answers 422 with the message)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
                     AfterValidator(lambda value: check_text(value, label)),
                     Field(json_schema_extra={"pattern": ONE_LINE_TEXT})]


#: What :func:`text` accepts, said in the OpenAPI document (ECMA regex): no control character (those of
#: ``ketaclinic.inputs.CONTROL_CHARACTER``), and something besides white space.
ONE_LINE_TEXT = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"


#: The search term, as long as the search page's.
SearchTerm = text(SEARCH_MAX, label="The search term")


def require_roles(request, roles) -> None:
    if not request.user.has_role(*roles):
        raise HttpError(403, "Your role does not allow this operation.")


class PatientOut(Schema):
    id: UUID
    mrn: str
    legal_given_name: str
    legal_family_name: str
    preferred_name: str
    date_of_birth: date
    sex_at_birth: str

    @staticmethod
    def resolve_id(obj: Patient) -> UUID:
        return obj.external_id


class Detail(Schema):
    """Why a request was refused: signed out (401), a role that may not (403), nothing found (404)."""

    detail: str


class InvalidInput(Schema):
    """Input that breaks the operation's schema (422): one entry per problem, naming where (``loc``) and what."""

    detail: list[dict[str, Any]]


#: The refusals every operation may answer with, documented so a client (and schemathesis) knows them.
REFUSALS = {401: Detail, 403: Detail, 422: InvalidInput}


@api.get("/patients", response={200: list[PatientOut], **REFUSALS}, url_name="patient_search",
         summary="Search patients by name, MRN or DOB")
def patient_search(request, q: SearchTerm):
    require_roles(request, CHART_READERS)
    results = list(patient_services.search(current_clinic(), q))
    audit.record(Actor.from_request(request), AuditAction.PATIENT_SEARCH, details={"term": q, "results": len(results), "via": "api"})
    return results


@api.get("/patients/{patient_id}", response={200: PatientOut, 404: Detail, **REFUSALS}, url_name="patient_detail",
         summary="One patient's demographics")
def patient_detail(request, patient_id: UUID):
    require_roles(request, CHART_READERS)
    patient = get_object_or_404(Patient, external_id=patient_id, clinic=current_clinic())
    if not careteam.may_open(request.user, patient):
        raise HttpError(403, "This patient is outside your care team: open the chart in KetaClinic to break the glass "
                             "(you give a reason; compliance reviews it).")
    audit.record(Actor.from_request(request), AuditAction.PATIENT_DEMOGRAPHICS_VIEWED, subject=patient, patient=patient,
                 details={"via": "api"})
    return patient
