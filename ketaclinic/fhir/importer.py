"""Loading a FHIR transaction Bundle (a clinic moving to KetaClinic): Patients with their Conditions, Observations
(body weight and height) and QuestionnaireResponses (the clinical core's rating scales). All or nothing.

Each entry is read with the FHIR R4B model of its type, turned into the arguments of the app's own use case
(``patients.services.register_patient``, ``add_diagnosis``, ``record_measurement``,
``measures.services.record_administration``), and the use cases run in one transaction: any entry refused, by the
FHIR model or by the use case (a code outside the clinic's ICD-10-CM list, an implausible weight, a scale's missing
answer, a time in the future), and nothing is written; the answer is an OperationOutcome with one issue per bad
entry, naming it by its index and ``fullUrl``.

What is not stored, and said so in the answer (a warning on that entry, nothing refused):

* Observations that belong to a treatment session (they carry an ``encounter``) or that are scale scores (category
  ``survey``; the scale comes in as its QuestionnaireResponse), and vital signs other than weight and height (the
  clinic records those only in a session);
* Conditions and QuestionnaireResponses marked entered-in-error at the source, and unfinished QuestionnaireResponses.

References: an entry's ``subject`` names a Patient of the Bundle by its ``fullUrl`` (``urn:uuid:...``) or as
``Patient/<id>`` with that entry's id, or a patient already registered in this clinic (``Patient/<its id>``).

Who is recorded: the backend client acts for the clinic admin who registered it; the records name that admin, and
every audit entry names the client.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, client_ip, record
from ketaclinic.clinical.scales import SCALES
from ketaclinic.fhir import codes
from ketaclinic.fhir.auth import Grant
from ketaclinic.fhir.outcome import methods

SUPPORTED = ("Patient", "Condition", "Observation", "QuestionnaireResponse")
GENDER_TO_SEX = {"female": "female", "male": "male", "other": "intersex", "unknown": "unknown"}
BIRTH_SEX = {"F": "female", "M": "male"}
WEIGHT_UNITS = {"kg": ("metric", Decimal(1)), "[lb_av]": ("imperial", Decimal(1)), "lb": ("imperial", Decimal(1)),
                "g": ("metric", Decimal("0.001"))}
HEIGHT_UNITS = {"cm": ("metric", Decimal(1)), "m": ("metric", Decimal(100)), "[in_i]": ("imperial", Decimal(1)),
                "in": ("imperial", Decimal(1))}
QUESTIONNAIRE_PREFIX = "urn:ketaclinic:questionnaire:"


class ImportRefused(Exception):
    """The Bundle is refused as a whole: ``issues`` (OperationOutcome issues) name each bad entry."""

    def __init__(self, issues: list[dict], status: int = 422):
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = issues
        self.status = status


@dataclass
class Entry:
    index: int
    full_url: str
    resource_type: str
    resource: object = None
    raw: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"

    @property
    def name(self) -> str:
        return f"entry {self.index}" + (f" ({self.full_url})" if self.full_url else "") + f" {self.resource_type}"


@dataclass
class Result:
    entries: list[dict]
    counts: dict[str, int]


def _issue(entry: Entry | None, message: str, code: str = "invalid", severity: str = "error") -> dict:
    from ketaclinic.fhir.outcome import issue

    if entry is None:
        return issue(code, message, severity=severity, expression="Bundle")
    return issue(code, f"{entry.name}: {message}", severity=severity, expression=entry.where)


def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def read_bundle(data: object) -> tuple[list[Entry], list[tuple[int, dict]]]:
    """The Bundle's entries that parse by their FHIR model, and an issue for each one that does not (by index); a
    body that is not a transaction Bundle raises :class:`ImportRefused`."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ImportRefused([_issue(None, "The body must be a FHIR Bundle (resourceType Bundle).", "structure")], 400)
    if data.get("type") != "transaction":
        raise ImportRefused([_issue(None, f"The Bundle's type must be transaction, not {data.get('type')!r}.")], 400)
    raw_entries = data.get("entry") or []
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ImportRefused([_issue(None, "The Bundle has no entries.", "required")], 400)
    entries, issues = [], []
    for i, raw in enumerate(raw_entries):
        if not isinstance(raw, dict) or not isinstance(raw.get("resource"), dict):
            entry = Entry(i, "", "?")
            issues.append((i, _issue(entry, "has no resource.", "required")))
            continue
        resource = raw["resource"]
        entry = Entry(i, str(raw.get("fullUrl") or ""), str(resource.get("resourceType") or "?"), raw=resource)
        request = raw.get("request") or {}
        method = request.get("method") if isinstance(request, dict) else None
        if method != "POST":
            issues.append((i, _issue(entry, f"request.method must be POST (create), not {method!r}.",
                                     "not-supported")))
            continue
        if entry.resource_type not in SUPPORTED:
            issues.append((i, _issue(entry, f"{entry.resource_type} cannot be imported; the import takes "
                                            f"{', '.join(SUPPORTED)}.", "not-supported")))
            continue
        try:
            entry.resource = _model(entry.resource_type).model_validate(resource)
        except (ValidationError, ValueError) as e:
            first = str(e).splitlines()
            issues.append((i, _issue(entry, f"is not a valid {entry.resource_type}: {' '.join(first[:3])}",
                                     "structure")))
            continue
        entries.append(entry)
    return entries, issues


# ---------------------------------------------------------------------------------------------- each type
class EntryError(ValueError):
    pass


def _patient_data(p) -> dict:
    official = next((n for n in (p.name or []) if n.use == "official"), (p.name or [None])[0])
    if official is None or not official.family or not official.given:
        raise EntryError("needs a name with a family name and a given name.")
    if p.birthDate is None:
        raise EntryError("needs a birthDate.")
    sex = None
    for ext in p.extension or []:
        if ext.url == codes.US_CORE_BIRTHSEX and ext.valueCode in BIRTH_SEX:
            sex = BIRTH_SEX[ext.valueCode]
    sex = sex or GENDER_TO_SEX.get(p.gender or "unknown")
    if sex is None:
        raise EntryError(f"gender {p.gender!r} is not one of male, female, other, unknown.")
    data = {"legal_family_name": official.family.strip(), "legal_given_name": " ".join(official.given).strip(),
            "date_of_birth": _full_date(p.birthDate, "birthDate"),
            "sex_at_birth": sex}
    usual = next((n for n in (p.name or []) if n.use == "usual" and n.given), None)
    if usual:
        data["preferred_name"] = " ".join(usual.given)
    for t in p.telecom or []:
        if t.system == "phone" and t.value and "phone" not in data:
            data["phone"] = t.value[:32]
        if t.system == "email" and t.value and "email" not in data:
            data["email"] = t.value
    if p.address:
        a = p.address[0]
        lines = list(a.line or [])
        data.update({k: v for k, v in (("address_line1", lines[0] if lines else ""),
                                       ("address_line2", lines[1] if len(lines) > 1 else ""),
                                       ("city", a.city or ""), ("state", a.state or ""),
                                       ("postal_code", a.postalCode or "")) if v})
    return data


def _coded(concept, system: str) -> str | None:
    for c in (concept.coding or []) if concept else []:
        if c.system == system and c.code:
            return c.code
    return None


def _full_date(value, name: str) -> date:
    """A FHIR date that names a day; a partial one ("2020", "2024-05") is refused: the chart keeps days, and
    choosing the first of the month would invent one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise EntryError(f"{name} {str(value)!r} does not name a day (a partial date such as 2020 or 2024-05 cannot "
                         "be stored here); give the full date.") from None


def _moment(value, name: str = "the date-time") -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EntryError("a date-time needs its time zone offset.")
        return value
    if isinstance(value, date):
        raise EntryError("a full date-time with its time zone is needed, not a date.")
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise EntryError(f"{name} {str(value)!r} is not a full date-time with its time zone (a partial date such as "
                         "2020 or 2024-05 cannot be stored here).") from None
    if moment.tzinfo is None:
        raise EntryError("a date-time needs its time zone offset.")
    return moment


def _scale_of(questionnaire: str | None) -> str:
    from ketaclinic.fhir.mappers.questionnaires import scale_code_of

    text = str(questionnaire or "")
    ident = text.removeprefix(QUESTIONNAIRE_PREFIX).removeprefix("Questionnaire/").split("|")[0].rsplit("/", 1)[-1]
    scale = scale_code_of(ident)
    if scale is None:
        raise EntryError(f"questionnaire {text!r} is not one of the clinic's scales "
                         f"({', '.join(sorted(QUESTIONNAIRE_PREFIX + s.replace('_', '-') for s in SCALES))}).")
    return scale


def _answers(scale_code: str, items) -> dict[str, int]:
    scale = SCALES[scale_code]
    by_id = {it.id: it for it in scale.items}
    answers: dict[str, int] = {}
    for item in items or []:
        spec = by_id.get(item.linkId)
        if spec is None:
            raise EntryError(f"item {item.linkId!r} is not an item of {scale.name}.")
        if not item.answer:
            continue
        (answer, *rest) = item.answer
        if rest:
            raise EntryError(f"item {item.linkId} has more than one answer.")
        if answer.valueInteger is not None:
            value = int(answer.valueInteger)
        elif answer.valueCoding is not None:
            coding = answer.valueCoding
            if coding.system == codes.LOINC:
                option = next((o for o in spec.options if o.loinc_answer == coding.code), None)
                if option is None:
                    raise EntryError(f"item {item.linkId}: LOINC answer {coding.code} is not one of its options.")
                value = option.value
            elif coding.system == codes.LOCAL_SCALE_ITEM and str(coding.code).lstrip("-").isdigit():
                value = int(coding.code)
            else:
                raise EntryError(f"item {item.linkId}: answer coding {coding.system}|{coding.code} is not read.")
        else:
            raise EntryError(f"item {item.linkId}: give the answer as valueInteger or valueCoding.")
        answers[item.linkId] = value
    return answers


def _quantity(obs, units: dict) -> tuple[str, Decimal]:
    q = obs.valueQuantity
    if q is None or q.value is None:
        raise EntryError("needs a valueQuantity with a value.")
    unit = q.code or q.unit
    if unit not in units:
        raise EntryError(f"unit {unit!r} is not read here (use one of {', '.join(units)}).")
    system, factor = units[unit]
    try:
        return system, (Decimal(str(q.value)) * factor).quantize(Decimal("0.01"))
    except InvalidOperation as e:
        raise EntryError(f"value {q.value!r} is not a number.") from e


# ---------------------------------------------------------------------------------------------- the use case
def import_bundle(*, grant: Grant, data: object, client_ip: str | None = None) -> Result:
    """Load a transaction Bundle into the client's clinic, all or nothing. Raises :class:`ImportRefused`."""
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.fhir.models import BackendClient

    entries, issues = read_bundle(data)
    refused = sorted({e.resource_type for e in entries if not grant.allows(e.resource_type, "c")})
    client = BackendClient.objects.select_related("created_by").get(client_id=grant.client_id)
    clinic = Clinic.objects.get(pk=grant.clinic_id)
    actor = Actor(user=client.created_by, client_ip=client_ip,
                  label_override=f"fhir client: {grant.client_name} ({grant.client_id}), registered by "
                                 f"{client.created_by.username}")
    if refused:
        message = f"This client's scopes do not allow creating {', '.join(refused)} (system/<type>.c)."
        with transaction.atomic(durable=True):
            record(actor, AuditAction.FHIR_IMPORT_REFUSED, details={
                "client_id": grant.client_id, "refused": "forbidden", "problems": [message]})
        raise ImportRefused([_issue(None, message, "forbidden")], 403)
    try:
        with transaction.atomic(durable=True):
            result = _load(entries, clinic, actor, issues)
            record(actor, AuditAction.FHIR_IMPORTED, details={"client_id": grant.client_id, "counts": result.counts})
            return result
    except ImportRefused as e:
        with transaction.atomic(durable=True):
            record(actor, AuditAction.FHIR_IMPORT_REFUSED, details={
                "client_id": grant.client_id, "problems": [i["diagnostics"] for i in e.issues][:50]})
        raise


def _load(entries: list[Entry], clinic, actor: Actor, issues: list[tuple[int, dict]]) -> Result:
    """Every entry through its use case (Patients first), collecting every refusal after those of ``issues`` (the
    entries that did not parse); any refusal rolls the whole Bundle back."""
    from ketaclinic.patients.models import Patient

    issues = list(issues)
    responses: dict[int, dict] = {}
    counts = {"Patient": 0, "Condition": 0, "Observation": 0, "QuestionnaireResponse": 0, "not stored": 0}
    patients: dict[str, Patient] = {}

    def ok(entry: Entry, location: str | None = None):
        responses[entry.index] = {"status": "201 Created", **({"location": location} if location else {})}
        counts[entry.resource_type] += 1

    def skipped(entry: Entry, why: str):
        responses[entry.index] = {"status": "200 OK", "outcome": {"resourceType": "OperationOutcome", "issue": [
            {"severity": "warning", "code": "informational", "diagnostics": f"Not stored: {why}"}]}}
        counts["not stored"] += 1

    def refuse(entry: Entry, message: str):
        issues.append((entry.index, _issue(entry, message, "invalid")))

    def run(entry: Entry, call):
        """A use case for one entry, in a savepoint: its refusal becomes the entry's issue."""
        from ketaclinic.measures.services import MeasureError
        from ketaclinic.patients.services import RegistryError

        try:
            with transaction.atomic():
                return call()
        except (RegistryError, MeasureError) as e:
            refuse(entry, " ".join(f"{v}" for v in e.errors.values()))
        except (EntryError, ValueError) as e:
            refuse(entry, str(e))
        return None

    from ketaclinic.measures import services as measures
    from ketaclinic.patients import services as registry

    for entry in [e for e in entries if e.resource_type == "Patient"]:
        def register(entry=entry):
            return registry.register_patient.within(actor=actor, clinic=clinic, data=_patient_data(entry.resource))

        patient = run(entry, register)
        if patient is not None:
            for key in (entry.full_url, f"Patient/{entry.resource.id}" if entry.resource.id else ""):
                if key:
                    patients[key] = patient
            ok(entry, f"Patient/{patient.external_id}")

    def subject_of(entry: Entry, reference) -> Patient:
        ref = getattr(reference, "reference", None) if reference else None
        if not ref:
            raise EntryError("needs a subject (the Patient).")
        if ref in patients:
            return patients[ref]
        if ref.startswith("Patient/"):
            try:
                key = uuid.UUID(ref[8:])
            except ValueError:
                key = None
            found = Patient.objects.filter(clinic=clinic, external_id=key).first() if key else None
            if found is not None:
                return found
        raise EntryError(f"subject {ref!r} names no Patient of this Bundle or of this clinic.")

    for entry in [e for e in entries if e.resource_type != "Patient"]:
        r = entry.resource
        try:
            patient = subject_of(entry, r.subject)
        except EntryError as e:
            refuse(entry, str(e))
            continue
        if entry.resource_type == "Condition":
            verification = _coded(r.verificationStatus, codes.CONDITION_VERIFICATION)
            if verification == "entered-in-error":
                skipped(entry, "the condition was entered in error at the source.")
                continue
            clinical = _coded(r.clinicalStatus, codes.CONDITION_CLINICAL)
            if clinical not in (None, "active", "recurrence", "relapse"):
                skipped(entry, f"the condition is {clinical}; the chart keeps active diagnoses.")
                continue
            code = _coded(r.code, codes.ICD10CM)
            if code is None:
                refuse(entry, f"needs an ICD-10-CM code ({codes.ICD10CM}).")
                continue
            try:
                noted_on = _full_date(r.onsetDateTime, "onsetDateTime") if r.onsetDateTime else None
            except EntryError as e:
                refuse(entry, str(e))
                continue
            note = "; ".join(n.text for n in (r.note or []) if n.text)[:1000]
            dx = run(entry, lambda r=r, patient=patient, code=code, noted_on=noted_on, note=note:
                     registry.add_diagnosis.within(actor=actor, patient=patient, code=code, note=note,
                                                   noted_on=noted_on))
            if dx is not None:
                ok(entry)
        elif entry.resource_type == "Observation":
            _observation(entry, r, patient, actor, run, ok, skipped, refuse, registry)
        else:  # QuestionnaireResponse
            if r.status in ("entered-in-error", "in-progress", "stopped"):
                skipped(entry, f"the response is {r.status}.")
                continue
            try:
                scale = _scale_of(r.questionnaire)
                answers = _answers(scale, r.item)
                when = _moment(r.authored, "authored")
            except EntryError as e:
                refuse(entry, str(e))
                continue
            def administer(patient=patient, scale=scale, answers=answers, when=when):
                saved = measures.record_administration.within(actor=actor, patient=patient, scale=scale, answers=answers,
                                                       administered_at=when)
                if not saved.submitted:  # an incomplete form would stay a draft: an import refuses it instead
                    raise EntryError(f"{SCALES[scale].name} is incomplete; missing answers: "
                                     f"{', '.join(saved.missing) or 'some'}.")
                return saved

            saved = run(entry, administer)
            if saved is not None:
                ok(entry, f"QuestionnaireResponse/{saved.administration.external_id}")
    if issues:
        raise ImportRefused([i for _, i in sorted(issues, key=lambda pair: pair[0])])
    return Result(entries=[responses[e.index] for e in entries], counts=counts)


def _observation(entry, r, patient, actor, run, ok, skipped, refuse, registry) -> None:
    if r.status == "entered-in-error":
        skipped(entry, "the observation was entered in error at the source.")
        return
    if r.encounter is not None:
        skipped(entry, "it belongs to an encounter (a treatment session), whose records are not imported.")
        return
    categories = {c.code for concept in (r.category or []) for c in (concept.coding or [])}
    loinc = _coded(r.code, codes.LOINC)
    if "survey" in categories or _coded(r.code, codes.LOCAL_SCALE) or _coded(r.code, codes.LOCAL_SCALE_ITEM):
        skipped(entry, "a scale's score; the scale is imported from its QuestionnaireResponse.")
        return
    if loinc not in (codes.BODY_WEIGHT.code, codes.BODY_HEIGHT.code):
        if "vital-signs" in categories:
            skipped(entry, "vital signs other than body weight and height are recorded only in a treatment session.")
        else:
            refuse(entry, f"only body weight ({codes.BODY_WEIGHT.code}) and height ({codes.BODY_HEIGHT.code}) "
                          f"Observations are stored; this one's code is {loinc or 'not LOINC'}.")
        return
    try:
        when = _moment(r.effectiveDateTime, "effectiveDateTime")
        if loinc == codes.BODY_WEIGHT.code:
            unit, weight = _quantity(r, WEIGHT_UNITS)
            height = None
        else:
            unit, height = _quantity(r, HEIGHT_UNITS)
            weight = None
    except EntryError as e:
        refuse(entry, str(e))
        return
    saved = run(entry, lambda: registry.record_measurement.within(actor=actor, patient=patient, unit=unit,
                                                                 weight=weight, height=height, measured_at=when))
    if saved is not None:
        ok(entry)


# ---------------------------------------------------------------------------------------------------- the view
def import_max_bytes() -> int:
    """The largest Bundle taken in one request: ``settings.FHIR_IMPORT_MAX_BYTES``, 32 MB unless set."""
    from django.conf import settings

    return int(getattr(settings, "FHIR_IMPORT_MAX_BYTES", 32_000_000))


@csrf_exempt  # a bearer token, no cookie
@methods("POST")
def post_bundle(request):
    """``POST [base]/`` with a transaction Bundle: 200 and a transaction-response Bundle, or an OperationOutcome
    naming each bad entry (nothing written)."""
    import json

    from django.http import HttpResponse

    from ketaclinic.fhir.auth import FhirAuthError, authenticate
    from ketaclinic.fhir.outcome import FHIR_JSON, operation_outcome, outcome_response

    try:
        grant = authenticate(request)
    except FhirAuthError as e:
        return e.response()
    if request.content_type not in (FHIR_JSON, "application/json"):
        return operation_outcome(415, "not-supported", f"Send the Bundle as {FHIR_JSON}.")
    limit = import_max_bytes()
    raw = request.read(limit + 1)  # its own limit (a clinic's history is larger than a form's upload limit)
    if len(raw) > limit:
        return operation_outcome(413, "too-long", f"The Bundle is larger than this server takes in one request "
                                                  f"({limit // 1_000_000} MB); send the patients in several Bundles.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        return operation_outcome(400, "structure", f"The body is not JSON ({e}).")
    try:
        result = import_bundle(grant=grant, data=data, client_ip=client_ip(request))
    except ImportRefused as e:
        return outcome_response(e.status, e.issues)
    from fhir.resources.R4B.bundle import Bundle

    body = Bundle(type="transaction-response", entry=[{"response": r} for r in result.entries])
    return HttpResponse(body.model_dump_json(exclude_none=True), content_type=FHIR_JSON)
