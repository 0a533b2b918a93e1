"""Patient, Practitioner, PractitionerRole, Organization, Location."""

from __future__ import annotations

from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, ref

#: patients.Patient.SexAtBirth -> FHIR administrative-gender (required binding) and the US Core birth-sex code.
GENDER = {"female": "female", "male": "male", "intersex": "other", "unknown": "unknown"}
BIRTH_SEX = {"female": "F", "male": "M"}  # US Core birthsex value set: F, M, UNK


def _address(row) -> list[dict] | None:
    lines = [x for x in (row.address_line1, row.address_line2) if x]
    if not (lines or row.city or row.state or row.postal_code):
        return None
    out: dict = {"use": "home" if hasattr(row, "mrn") else "work", "country": "US"}
    if lines:
        out["line"] = lines
    for key, value in (("city", row.city), ("state", row.state), ("postalCode", row.postal_code)):
        if value:
            out[key] = value
    return [out]


def _telecom(phone: str = "", email: str = "") -> list[dict] | None:
    out = []
    if phone:
        out.append({"system": "phone", "value": phone})
    if email:
        out.append({"system": "email", "value": email})
    return out or None


def patient(p) -> list[Patient]:
    names = [{"use": "official", "family": p.legal_family_name, "given": [p.legal_given_name]}]
    if p.preferred_name and p.preferred_name != p.legal_given_name:
        names.append({"use": "usual", "family": p.legal_family_name, "given": [p.preferred_name]})
    extension = []
    if p.sex_at_birth in BIRTH_SEX or p.sex_at_birth == "unknown":
        extension.append({"url": codes.US_CORE_BIRTHSEX, "valueCode": BIRTH_SEX.get(p.sex_at_birth, "UNK")})
    contact = []
    if p.emergency_contact_name:
        contact.append({
            "relationship": [{"text": p.emergency_contact_relationship or "Emergency contact"}],
            "name": {"text": p.emergency_contact_name},
            "telecom": _telecom(p.emergency_contact_phone),
        })
    return [Patient(
        id=str(p.external_id),
        meta={"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        extension=extension or None,
        identifier=[{"use": "usual", "type": {"text": "Medical record number"}, "system": codes.LOCAL_MRN,
                     "value": p.mrn}],
        active=True,
        name=names,
        telecom=_telecom(p.phone, p.email),
        gender=GENDER[p.sex_at_birth],
        birthDate=p.date_of_birth.isoformat(),
        address=_address(p),
        contact=contact or None,
        managingOrganization=ref("Organization", p.clinic.external_id, p.clinic.name),
    )]


def practitioner(u) -> list[Practitioner]:
    identifier = []
    if u.npi:
        identifier.append({"system": codes.NPI, "value": u.npi})
    qualification = []
    if u.credentials:
        qualification.append({"code": {"text": u.credentials},
                              "identifier": [{"value": u.licence_number}] if u.licence_number else None})
    name = {"text": u.display_name or u.get_full_name() or u.username}
    if u.last_name:
        name["family"] = u.last_name
    if u.first_name:
        name["given"] = [u.first_name]
    return [Practitioner(
        id=str(u.external_id),
        identifier=identifier or None,
        active=u.is_active,
        name=[name],
        telecom=_telecom(u.phone),
        qualification=qualification or None,
    )]


def practitioner_roles(u, clinic) -> list[PractitionerRole]:
    """One PractitionerRole per role the user holds at the clinic (their ``role_grants`` prefetched)."""
    out = []
    for grant in u.role_grants.all():
        out.append(PractitionerRole(
            id=f"{u.external_id}-{grant.role.replace('_', '.')}",
            active=u.is_active,
            practitioner=ref("Practitioner", u.external_id, u.label),
            organization=ref("Organization", clinic.external_id, clinic.name),
            code=[{"coding": [{"system": codes.LOCAL_ROLE, "code": grant.role, "display": grant.get_role_display()}],
                   "text": grant.get_role_display()}],
            period={"start": instant(grant.granted_at)},
        ))
    return out


def organization(c) -> list[Organization]:
    return [Organization(
        id=str(c.external_id),
        active=True,
        name=c.name,
        telecom=_telecom(c.phone),
        address=_address(c),
    )]


def location(room) -> list[Location]:
    """A room (``fhir_n``: its place among the clinic's rooms)."""
    clinic = room.clinic
    return [Location(
        id=f"{clinic.external_id}-room{room.fhir_n}",
        status="active" if room.active else "inactive",
        name=room.name,
        description=room.get_kind_display(),
        mode="instance",
        managingOrganization=ref("Organization", clinic.external_id, clinic.name),
    )]
