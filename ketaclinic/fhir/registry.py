"""The resource types the FHIR facade serves, and where each one's rows come from: one table, ``TYPES``, used by the
read and search views and by the bulk export (F2).

How to use it (the shape F2's bulk export and importer rely on)::

    from ketaclinic.fhir.registry import TYPES
    rt = TYPES["Observation"]
    for row in rt.rows(clinic_id, since=None, patient_ids=None):   # ordered, streamed, only that clinic's data
        for resource in rt.to_fhir(row):                           # R4B models; one row may give several
            line = resource.model_dump_json(exclude_none=True)

``ResourceType``
    ``name``: the FHIR type ("Observation").
    ``rows(clinic_id, *, since=None, patient_ids=None, chunk_size=500)``: an iterator over our rows for that clinic,
    in a stable order (source by source, each ordered by its own key), streamed with ``.iterator(chunk_size=…)``
    and with the related rows each mapper needs loaded (select_related / prefetch_related: a fixed number of
    queries per chunk, never one per row). ``patient_ids`` are database keys of ``patients.Patient`` (for
    ``Patient/$export`` and ``Group/$export``; a type with no patient, e.g. Organization, ignores it and returns
    its rows). ``since``: only rows changed after that moment where the record keeps a modification time
    (``Source.updated``); records that keep none are always included (over-inclusive, never missing a change).
    ``to_fhir(row)``: the R4B models for that row (an iterable; possibly empty: a draft scale gives no
    Observation, an unsigned session no DocumentReference).
    ``sources``: the models it reads (``Source``), for the views' search (patient, date, code, _lastUpdated).
    ``find(clinic_id, resource_id)``: the row a resource id names in that clinic, or None.
    ``search_params``: the search parameters the type supports (the CapabilityStatement says the same).

Ids are the records' public ids (``external_id``), or a parent's public id with the record's place among its
siblings (see ``mappers.common``); never a database key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from ketaclinic.fhir import codes
from ketaclinic.fhir import documents as pdf_documents
from ketaclinic.fhir.mappers import (
    administrative,
    allergies,
    audit,
    conditions,
    documents,
    encounters,
    medications,
    observations,
    questionnaires,
    safety,
)
from ketaclinic.fhir.mappers.common import nth, parse_id, place

CodeToken = tuple[str | None, str]  # (system or None for any system, code)


@dataclass(frozen=True)
class Source:
    """One of our models a resource type is built from.

    ``queryset(clinic_id)``: that clinic's rows, related rows loaded, annotated with ``fhir_date`` (the clinical
    moment the search parameter ``date`` matches) and, for rows known by their place, ``fhir_n``.
    ``patient``: ORM path from the row to ``patients.Patient`` ("" for the patient itself; None: no patient).
    ``updated``: ORM path of the row's last-change moment, or None when the record keeps none.
    ``date_is_day``: ``fhir_date`` is a date, not a moment.
    ``emits``: the (system, code) pairs of ``code`` this source may emit (None: any, see ``narrow``).
    ``narrow(queryset, tokens)``: the rows that may emit one of the code tokens, or None when none can (the
    source is skipped without a query); no ``narrow``: ``emits`` decides.
    ``find(queryset, resource_id)``: the row a resource id names.
    ``categories``: the Observation categories it emits.
    """

    key: str
    queryset: Callable[[int], QuerySet]
    to_fhir: Callable[[Any], list]
    find: Callable[[QuerySet, str], Any]
    patient: str | None = None
    updated: str | None = None
    date_is_day: bool = False
    emits: frozenset[tuple[str, str]] | None = frozenset()
    narrow: Callable[[QuerySet, list[CodeToken]], QuerySet] | None = None
    categories: frozenset[str] = frozenset()
    #: The (system, code) pairs of ``type`` it emits (DocumentReference), for a search by type.
    types: frozenset[tuple[str, str]] = frozenset()
    order: tuple[str, ...] = ("pk",)
    #: The mapper takes ``keep(code concept) -> bool`` and builds only what it keeps (a search by code).
    keeps: bool = False
    #: Every row maps to exactly one resource (so a search's ``_offset`` can skip rows in the database).
    one_per_row: bool = False

    def to_fhir_keeping(self, row, keep) -> list:
        return self.to_fhir(row, keep) if self.keeps else self.to_fhir(row)

    def patient_filter(self, patient_ids) -> Q:
        """Rows of these patients; a QuerySet of keys stays a subquery (a group of the whole clinic is no list)."""
        from django.db.models import QuerySet

        key = "pk__in" if self.patient == "" else f"{self.patient}_id__in"
        return Q(**{key: patient_ids if isinstance(patient_ids, QuerySet) else list(patient_ids)})

    def may_be_of_type(self, tokens: list[CodeToken]) -> bool:
        return any((system is None or system == s) and code == c for system, code in tokens for s, c in self.types)

    def may_emit(self, tokens: list[CodeToken]) -> bool:
        if self.emits is None:
            return True
        return any((system is None or system == s) and code == c for system, code in tokens for s, c in self.emits)


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: tuple[Source, ...]
    search_params: tuple[str, ...] = ()
    documentation: str = ""
    by_model: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.by_model.update({s.key: s for s in self.sources})

    def rows(self, clinic_id: int, *, since: datetime | None = None, patient_ids=None,
             chunk_size: int = 500) -> Iterator:
        for source in self.sources:
            qs = source.queryset(clinic_id)
            if patient_ids is not None and source.patient is not None:
                qs = qs.filter(source.patient_filter(patient_ids))
            if since is not None and source.updated:
                qs = qs.filter(**{f"{source.updated}__gt": since})
            tag = len(self.sources) > 1
            for row in qs.order_by(*source.order).iterator(chunk_size=chunk_size):
                if tag:
                    row._fhir_source = source.key
                yield row

    def source_of(self, row) -> Source:
        return self.sources[0] if len(self.sources) == 1 else self.by_model[row._fhir_source]

    def to_fhir(self, row) -> Iterable:
        return self.source_of(row).to_fhir(row)

    def find(self, clinic_id: int, resource_id: str):
        for source in self.sources:
            row = source.find(source.queryset(clinic_id), resource_id)
            if row is not None:
                if len(self.sources) > 1:
                    row._fhir_source = source.key
                return row
        return None


# ----------------------------------------------------------------------------------------------- finders
def _uuid(resource_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(resource_id)
    except (ValueError, AttributeError, TypeError):
        return None


def by_external_id(field_path: str = "external_id", suffix: str | None = None):
    """Finder for a resource whose id is a record's own public id (``suffix``: the id's fixed tail)."""
    def find(qs, resource_id):
        if suffix:
            if not resource_id.endswith(suffix):
                return None
            resource_id = resource_id[: -len(suffix)]
        key = _uuid(resource_id)
        if key is None or len(resource_id) != 36:
            return None
        return qs.filter(**{field_path: key}).first()
    return find


def by_place(parent_field: str, tag: str, suffixes: Iterable[str | None] | None = (None,)):
    """Finder for ``<parent uuid>-<tag><n>[-<suffix>]``: the parent's n-th row of this kind (``suffixes`` None:
    any suffix; the mapper decides whether the row gives that id)."""
    allowed = set(suffixes) if suffixes is not None else None

    def find(qs, resource_id):
        parsed = parse_id(resource_id)
        if parsed is None:
            return None
        parent, got_tag, n, suffix = parsed
        if got_tag != tag or (allowed is not None and suffix not in allowed) or n is None:
            return None
        row = nth(qs.filter(**{f"{parent_field}__external_id": parent}), n)
        return row
    return find


# ----------------------------------------------------------------------------------------------- querysets
_LABELS = {
    "User": "accounts.User", "RoleGrant": "accounts.RoleGrant", "AuditEntry": "audit.AuditEntry", "Clinic": "clinic.Clinic", "Room": "clinic.Room",
    "IntegrationSession": "integration.IntegrationSession", "Administration": "measures.Administration",
    "BodyMeasurement": "patients.BodyMeasurement", "Diagnosis": "patients.Diagnosis", "Patient": "patients.Patient",
    "Appointment": "scheduling.Appointment", "AdverseEvent": "treatments.AdverseEvent",
    "SessionRating": "treatments.SessionRating", "TreatmentOrder": "treatments.TreatmentOrder",
    "TreatmentSession": "treatments.TreatmentSession", "VitalsReading": "treatments.VitalsReading",
}


def m(name: str):
    """The model of that name (looked up when first used, so importing the registry loads no app's models)."""
    from django.apps import apps

    return apps.get_model(_LABELS[name])


def patients_qs(c):
    return m("Patient").objects.filter(clinic_id=c).select_related("clinic")


def staff_qs(c):
    """The staff of clinic ``c``: the people who hold a role there (accounts.RoleGrant names its clinic), each with
    the roles they hold there only. A nurse of clinic B alone is unknown (404) to clinic A's clients."""
    from django.db.models import Exists, OuterRef, Prefetch

    here = m("RoleGrant").objects.filter(clinic_id=c)
    return (m("User").objects.filter(Exists(here.filter(user=OuterRef("pk"))))
            .prefetch_related(Prefetch("role_grants", queryset=here)))


def practitioner_roles(u):
    return administrative.practitioner_roles(u, u._fhir_clinic)


def staff_with_clinic_qs(c):
    return _Tagged(staff_qs(c), m("Clinic").objects.get(pk=c))


class _Tagged:
    """A queryset whose rows get the clinic attached (PractitionerRole names the clinic as its organization)."""

    def __init__(self, qs, clinic):
        self.qs, self.clinic = qs, clinic

    def _wrap(self, qs):
        return _Tagged(qs, self.clinic)

    def filter(self, *a, **k):
        return self._wrap(self.qs.filter(*a, **k))

    def exclude(self, *a, **k):
        return self._wrap(self.qs.exclude(*a, **k))

    def order_by(self, *a):
        return self._wrap(self.qs.order_by(*a))

    def iterator(self, chunk_size=500):
        for row in self.qs.iterator(chunk_size=chunk_size):
            row._fhir_clinic = self.clinic
            yield row

    def __iter__(self):
        return self.iterator()

    def __getitem__(self, item):
        return self._wrap(self.qs[item])

    def first(self):
        row = self.qs.first()
        if row is not None:
            row._fhir_clinic = self.clinic
        return row


def practitioner_role_find(qs, resource_id):
    """``<user uuid>-<role>`` (the role's "_" written ".")."""
    key = _uuid(resource_id[:36])
    if key is None or len(resource_id) <= 37 or resource_id[36] != "-":
        return None
    role = resource_id[37:].replace(".", "_")
    found = qs.filter(external_id=key).first()  # staff of the client's clinic, their grants there prefetched
    return found if found is not None and any(g.role == role for g in found.role_grants.all()) else None


def location_qs(c):
    return (m("Room").objects.filter(clinic_id=c).select_related("clinic")
            .annotate(fhir_n=place(m("Room"), "clinic")))


def allergies_qs(c):
    """The clinic's patients whose allergies field holds any text (a blank field gives no AllergyIntolerance, so
    every row here gives exactly one: the same rule as ``mappers.allergies``, whitespace being no text)."""
    return patients_qs(c).filter(allergies__regex=allergies.HAS_TEXT)


def diagnoses_qs(c):
    return (m("Diagnosis").objects.filter(patient__clinic_id=c).select_related("patient", "recorded_by")
            .annotate(fhir_n=place(m("Diagnosis"), "patient"), fhir_date=F("noted_on")))


def vitals_qs(c):
    return (m("VitalsReading").objects.filter(session__patient__clinic_id=c)
            .select_related("session__patient", "recorded_by")
            .annotate(fhir_n=place(m("VitalsReading"), "session"), fhir_date=F("taken_at")))


def session_weight_qs(c):
    return (m("TreatmentSession").objects.filter(patient__clinic_id=c, weight_kg__isnull=False)
            .select_related("patient", "weight_recorded_by")
            .annotate(fhir_date=Coalesce("checked_in_at", "scheduled_start")))


def measurements_qs(c):
    return (m("BodyMeasurement").objects.filter(patient__clinic_id=c).select_related("patient", "recorded_by")
            .annotate(fhir_n=place(m("BodyMeasurement"), "patient"), fhir_date=F("measured_at")))


def administrations_qs(c, *, drafts=False):
    qs = (m("Administration").objects.filter(patient__clinic_id=c)
          .select_related("patient", "entered_by", "session").prefetch_related("answers")
          .annotate(fhir_date=F("administered_at")))
    return qs if drafts else qs.exclude(status="draft")


def ratings_qs(c):
    return (m("SessionRating").objects.filter(session__patient__clinic_id=c)
            .select_related("session__patient", "recorded_by")
            .annotate(fhir_n=place(m("SessionRating"), "session"), fhir_date=F("at")))


def orders_qs(c):
    return (m("TreatmentOrder").objects.filter(patient__clinic_id=c)
            .select_related("patient", "signed_by", "created_by")
            .annotate(fhir_date=Coalesce("signed_at", "created_at")))


def doses_qs(c):
    return (m("TreatmentSession").objects.filter(patient__clinic_id=c, dose_started_at__isnull=False)
            .select_related("patient", "order", "administered_by", "prepared_by", "verified_by")
            .annotate(fhir_date=F("dose_started_at")))


def sessions_qs(c):
    return (m("TreatmentSession").objects.filter(patient__clinic_id=c)
            .select_related("patient", "order", "room", "chair__room", "prescriber_signed_by", "nurse_signed_by",
                            "administered_by")
            .annotate(fhir_date=Coalesce("checked_in_at", "scheduled_start")))


def integration_qs(c):
    return (m("IntegrationSession").objects.filter(patient__clinic_id=c)
            .select_related("patient", "dosing_session", "therapist", "room")
            .annotate(fhir_date=Coalesce("scheduled_start", "window_start")))


def appointments_qs(c):
    return (m("Appointment").objects.filter(clinic_id=c, patient__clinic_id=c, type__code__in=("consult", "follow_up"))
            .select_related("patient", "type", "clinician", "room")
            .annotate(fhir_date=F("start")))


def adverse_qs(c):
    return (m("AdverseEvent").objects.filter(session__patient__clinic_id=c)
            .select_related("session__patient", "recorded_by")
            .annotate(fhir_n=place(m("AdverseEvent"), "session"), fhir_date=F("onset_at")))


def signed_sessions_qs(c):
    return (m("TreatmentSession").objects.filter(patient__clinic_id=c)
            .filter(Q(nurse_signed_at__isnull=False) | Q(prescriber_signed_at__isnull=False))
            .select_related("patient", "prescriber_signed_by", "nurse_signed_by")
            .prefetch_related("addenda__by")
            .annotate(fhir_date=Coalesce("prescriber_signed_at", "nurse_signed_at")))


def signed_orders_qs(c):
    return (m("TreatmentOrder").objects.filter(patient__clinic_id=c, signed_at__isnull=False)
            .select_related("patient", "signed_by").annotate(fhir_date=F("signed_at")))


def audit_qs(c):
    return (m("AuditEntry").objects.filter(patient__clinic_id=c).select_related("actor", "patient")
            .annotate(fhir_date=F("at")))


def audit_find(qs, resource_id):
    if not resource_id.startswith("audit-") or not resource_id[6:].isdigit():
        return None
    return qs.filter(seq=int(resource_id[6:])).first()


class _Scales:
    """The clinical core's scales as rows (Questionnaire is not clinic data)."""

    def __init__(self, items):
        self.items = list(items)

    def filter(self, *a, **k):
        return self

    def exclude(self, *a, **k):
        return self

    def order_by(self, *a):
        return self

    def iterator(self, chunk_size=500):
        return iter(self.items)

    def __iter__(self):
        return iter(self.items)


def scales_qs(c):
    from ketaclinic.clinical.scales import SCALES
    return _Scales(SCALES.values())


def scale_find(qs, resource_id):
    from ketaclinic.clinical.scales import SCALES
    code = questionnaires.scale_code_of(resource_id)
    return SCALES[code] if code else None


def organization_qs(c):
    return m("Clinic").objects.filter(pk=c)


# ----------------------------------------------------------------------------------------------- code narrowing
def _vital_pairs(*cs: codes.Code) -> frozenset[tuple[str, str]]:
    return frozenset((c.system, c.code) for c in cs)


VITALS_READING_CODES = _vital_pairs(codes.BP_PANEL, codes.SYSTOLIC, codes.DIASTOLIC, codes.HEART_RATE,
                                    codes.RESPIRATORY_RATE, codes.SPO2_PULSE_OX, codes.SPO2)
#: A vitals reading that emits each code: the column that must be filled.
VITALS_COLUMN = {"85354-9": ("systolic_mmHg", "diastolic_mmHg"), "8480-6": ("systolic_mmHg",),
                 "8462-4": ("diastolic_mmHg",), "8867-4": ("heart_rate_bpm",), "9279-1": ("respiratory_rate_per_min",),
                 "59408-5": ("spo2_percent",), "2708-6": ("spo2_percent",)}


def narrow_vitals(qs, tokens):
    """The readings that measured a sign the codes name (a reading without a heart rate gives no heart rate)."""
    q = Q(pk__in=[])
    for system, code in tokens:
        if system not in (None, codes.LOINC):
            continue
        for column in VITALS_COLUMN.get(code, ()):
            q |= Q(**{f"{column}__isnull": False})
    return qs.filter(q)


def _scale_codes_for(tokens) -> set[str]:
    from ketaclinic.clinical.scales import SCALES
    out = set()
    for code, scale in SCALES.items():
        mine = {(codes.LOCAL_SCALE, code)}
        if scale.loinc_total:
            mine.add((codes.LOINC, scale.loinc_total))
        for it in scale.items:
            mine.add((codes.LOCAL_SCALE_ITEM, f"{code}.{it.id}"))
            if it.loinc:
                mine.add((codes.LOINC, it.loinc))
        if any((system is None or system == s) and c == tc for system, tc in tokens for s, c in mine):
            out.add(code)
    return out


def narrow_scales(qs, tokens):
    """The rows of the scales a code names; None (skip the source) when it names none."""
    scales = sorted(_scale_codes_for(tokens))
    return qs.filter(scale__in=scales) if scales else None


def narrow_diagnoses(qs, tokens):
    wanted = [c for s, c in tokens if s in (None, codes.ICD10CM)]
    return qs.filter(code__in=wanted) if wanted else None


def narrow_measurements(qs, tokens):
    wanted = {c for s, c in tokens if s in (None, codes.LOINC)}
    q = Q(pk__in=[])
    if codes.BODY_WEIGHT.code in wanted:
        q |= Q(weight_kg__isnull=False)
    if codes.BODY_HEIGHT.code in wanted:
        q |= Q(height_cm__isnull=False)
    return qs.filter(q)


# ----------------------------------------------------------------------------------------------- the table
_PAT = ("patient", "subject")
_CLINICAL = (*_PAT, "date", "_lastUpdated")


def _types() -> dict[str, ResourceType]:
    weight = frozenset({(codes.LOINC, codes.BODY_WEIGHT.code)})
    types = [
        ResourceType("Patient", (
            Source("patient", patients_qs, administrative.patient, by_external_id(), patient="", one_per_row=True),
        ), search_params=("_id", "identifier"), documentation="patients.Patient"),
        ResourceType("Practitioner", (
            Source("practitioner", staff_qs, administrative.practitioner, by_external_id()),
        ), search_params=("_id",), documentation="accounts.User holding at least one staff role"),
        ResourceType("PractitionerRole", (
            Source("practitionerrole", staff_with_clinic_qs, practitioner_roles, practitioner_role_find),
        ), search_params=(), documentation="accounts.RoleGrant, one per role a staff member holds"),
        ResourceType("Organization", (
            Source("organization", organization_qs, administrative.organization, by_external_id()),
        ), documentation="clinic.Clinic"),
        ResourceType("Location", (
            Source("location", location_qs, administrative.location, by_place("clinic", "room")),
        ), documentation="clinic.Room"),
        ResourceType("Condition", (
            Source("diagnosis", diagnoses_qs, conditions.condition, by_place("patient", "dx"), patient="patient",
                   date_is_day=True, emits=None, narrow=narrow_diagnoses, one_per_row=True),
        ), search_params=(*_PAT, "code", "date"), documentation="patients.Diagnosis"),
        ResourceType("AllergyIntolerance", (
            # the patient row itself (patient=""); no ``updated``: the row keeps no modification time, so a bulk
            # export's _since always includes it (over-inclusive) and no _lastUpdated is offered
            Source("allergies", allergies_qs, allergies.allergy_intolerance,
                   by_external_id(suffix=allergies.SUFFIX), patient="", one_per_row=True),
        ), search_params=("patient",),
            documentation="patients.Patient.allergies (free text, sent as recorded in code.text; none for a blank "
                          "field)"),
        ResourceType("Observation", (
            Source("vitals", vitals_qs, observations.vitals_reading,
                   by_place("session", "v", ("bp", "hr", "rr", "spo2")), patient="session__patient",
                   updated="recorded_at", emits=VITALS_READING_CODES, narrow=narrow_vitals,
                   categories=frozenset({"vital-signs"}), order=("taken_at", "pk"), keeps=True),
            Source("session-weight", session_weight_qs, observations.session_weight,
                   by_external_id(suffix="-weight"), patient="patient", emits=weight,
                   categories=frozenset({"vital-signs"}), order=("scheduled_start", "pk")),
            Source("measurement", measurements_qs, observations.body_measurement,
                   by_place("patient", "bm", ("weight", "height")), patient="patient",
                   emits=weight | {(codes.LOINC, codes.BODY_HEIGHT.code)}, narrow=narrow_measurements,
                   categories=frozenset({"vital-signs"}), order=("measured_at", "pk")),
            Source("administration", administrations_qs, observations.administration, _administration_obs_find,
                   patient="patient", updated="updated_at", emits=None, narrow=narrow_scales,
                   categories=frozenset({"survey"}), order=("administered_at", "pk"), keeps=True),
            Source("rating", ratings_qs, observations.session_rating, by_place("session", "r", None),
                   # append-only (database trigger), written at ``at``: that is its last change
                   patient="session__patient", updated="at", emits=None, narrow=narrow_scales,
                   categories=frozenset({"survey"}),
                   order=("at", "pk")),
        ), search_params=(*_CLINICAL, "code", "category"),
            documentation="vital signs (treatments.VitalsReading, TreatmentSession.weight_kg, "
                          "patients.BodyMeasurement) and scales (measures.Administration, treatments.SessionRating)"),
        ResourceType("Questionnaire", (
            Source("questionnaire", scales_qs, questionnaires.questionnaire, scale_find),
        ), documentation="the clinical core's rating scales (ketaclinic.clinical.scales)"),
        ResourceType("QuestionnaireResponse", (
            Source("qr", lambda c: administrations_qs(c, drafts=True), questionnaires.questionnaire_response,
                   by_external_id(), patient="patient", updated="updated_at", order=("administered_at", "pk"),
                   one_per_row=True),
        ), search_params=_CLINICAL, documentation="measures.Administration with its ItemAnswers"),
        ResourceType("MedicationRequest", (
            Source("order", orders_qs, medications.medication_request, by_external_id(), patient="patient",
                   order=("created_at", "pk"), one_per_row=True),
        ), search_params=(*_PAT, "date"), documentation="treatments.TreatmentOrder"),
        ResourceType("MedicationAdministration", (
            Source("dose", doses_qs, medications.medication_administration, by_external_id(), patient="patient",
                   order=("dose_started_at", "pk")),
        ), search_params=(*_PAT, "date"), documentation="treatments.TreatmentSession (the dose)"),
        ResourceType("Encounter", (
            Source("session", sessions_qs, encounters.treatment_session, by_external_id(), patient="patient",
                   order=("scheduled_start", "pk"), one_per_row=True),
            Source("integration", integration_qs, encounters.integration_session, by_external_id(),
                   patient="patient", order=("window_start", "pk"), one_per_row=True),
            Source("appointment", appointments_qs, encounters.appointment, by_external_id(), patient="patient",
                   order=("start", "pk"), one_per_row=True),
        ), search_params=(*_PAT, "date"),
            documentation="treatments.TreatmentSession, integration.IntegrationSession, scheduling.Appointment "
                          "(consults and follow-ups)"),
        ResourceType("AdverseEvent", (
            Source("adverse", adverse_qs, safety.adverse_event, by_place("session", "ae"), patient="session__patient",
                   order=("onset_at", "pk"), one_per_row=True),
        ), search_params=(*_PAT, "date"), documentation="treatments.AdverseEvent"),
        ResourceType("DocumentReference", (
            Source("note", signed_sessions_qs, documents.session_note, by_external_id(suffix="-note"),
                   patient="patient", order=("scheduled_start", "pk"), one_per_row=True,
                   categories=frozenset({codes.DOC_CLINICAL_NOTE.code}),
                   types=frozenset({(codes.LOCAL_DOCUMENT, documents.SESSION_NOTE)})),
            *(pdf_source(doc) for doc in pdf_documents.sources()),
        ), search_params=(*_PAT, "date", "category", "type"),
            documentation="a treatment session's signed note (text), and the PDFs the clinic keeps: "
                          + "; ".join(doc.display for doc in pdf_documents.sources())
                          + " (content at Binary/<id>)"),
        ResourceType("Provenance", (
            Source("note-signature", signed_sessions_qs, documents.session_note_provenance,
                   by_external_id(suffix="-note-signature"), patient="patient", order=("scheduled_start", "pk")),
            Source("order-signature", signed_orders_qs, documents.order_provenance, by_external_id(suffix="-signature"),
                   patient="patient", order=("signed_at", "pk")),
        ), search_params=(*_PAT,), documentation="signatures of session notes and treatment orders"),
        ResourceType("AuditEvent", (
            Source("audit", audit_qs, audit.audit_event, audit_find, patient="patient", updated="at",
                   order=("seq",), one_per_row=True),
        ), search_params=(*_PAT, "date"), documentation="audit.AuditEntry about one of the clinic's patients"),
    ]
    return {t.name: t for t in types}


def pdf_source(doc) -> Source:
    """A printable document of an app's ``fhir_documents`` (see ``ketaclinic.fhir.documents``) as a source of
    DocumentReference: its rows with their stored copy's id, hash and size annotated."""
    def rows(c):
        qs = pdf_documents.with_stored(doc, doc.queryset(c))
        gone = getattr(doc, "entered_in_error", None)
        # a document entered in error that was never drawn gives no resource: leaving its row out makes every row
        # one resource, so a page far down is skipped in the database, not by drawing every document before it
        return qs.exclude(gone & Q(fhir_pdf_id__isnull=True)) if gone is not None else qs

    return Source(doc.kind, rows,
                  lambda row: pdf_documents.document_reference(doc, row),
                  by_external_id(doc.record_field, suffix=f"-{doc.suffix}"), patient=doc.patient, one_per_row=True,
                  order=doc.order, categories=frozenset({pdf_documents.category_concept(doc.category)["coding"][0]["code"]}),
                  types=frozenset({(codes.LOCAL_DOCUMENT, doc.kind)}))


def _administration_obs_find(qs, resource_id):
    """``<administration uuid>-total`` or ``<administration uuid>-<item id>``."""
    if len(resource_id) < 38 or resource_id[36] != "-":
        return None
    key = _uuid(resource_id[:36])
    if key is None:
        return None
    return qs.filter(external_id=key).first()


TYPES: dict[str, ResourceType] = _types()
