"""The FHIR facade's resource views: CapabilityStatement, read, search, Patient/$everything.

Every view answers registered backend clients only (a bearer token, ``auth.authorize``; a staff session cookie gets
nothing), only the token's clinic's data, JSON only (``application/fhir+json``), and every error is an
OperationOutcome. Each answered request is audited once (``auth.audit_access``) with the client and the count.
We keep no versions of resources, so there is no vread or history: those URLs answer 404 with an OperationOutcome
saying so. Reads carry a weak ETag over the resource's content (``If-None-Match`` gives 304).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ketaclinic.fhir import auth, documents, search
from ketaclinic.fhir.outcome import FHIR_JSON, FhirRequestError, operation_outcome
from ketaclinic.fhir.registry import TYPES, ResourceType, Source

#: Search parameters' FHIR types (CapabilityStatement.rest.resource.searchParam.type).
PARAM_TYPES = {"patient": "reference", "subject": "reference", "code": "token", "category": "token", "type": "token",
               "date": "date", "_lastUpdated": "date", "_id": "token", "identifier": "token"}
EVERYTHING_COUNT = 500


def _response(model, *, status: int = 200, etag: bool = False, request=None) -> HttpResponse:
    body = model.model_dump_json(exclude_none=True)
    response = HttpResponse(body, status=status, content_type=FHIR_JSON)
    if etag:
        tag = 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        response["ETag"] = tag
        if request is not None and tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            not_modified = HttpResponse(status=304)
            not_modified["ETag"] = tag
            return not_modified
    return response


def fhir_endpoint(view):
    """Bearer-token views: GET only, no CSRF (no cookie is read), refusals as OperationOutcomes."""
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return operation_outcome(405, "not-supported", f"{request.method} is not supported here: this part of "
                                     "the FHIR API is read-only (read and search).", headers={"Allow": "GET"})
        base = documents.BASE_URL.set(_base(request))  # the attachments' Binary URLs are on this base
        try:
            return view(request, *args, **kwargs)
        except auth.FhirAuthError as e:
            return e.response()
        except FhirRequestError as e:
            return e.response()
        except (Http404, PermissionDenied, SuspiciousOperation):
            raise  # Django's own answers (404, 403, 400)
        except Exception:  # a fault of ours: reported as Django reports one (django.request, the signal that error
            # reporting listens to), answered as FHIR, never an HTML page
            got_request_exception.send(sender=None, request=request)
            logging.getLogger("django.request").error("Internal Server Error: %s", request.path, exc_info=True,
                                                      extra={"status_code": 500, "request": request})
            return operation_outcome(500, "exception", "The server failed to answer this request; the fault is "
                                     "logged. Try again later, and tell the clinic if it persists.")
        finally:
            documents.BASE_URL.reset(base)
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def _type(name: str) -> ResourceType:
    rt = TYPES.get(name)
    if name == "Binary":
        raise FhirRequestError("Binary is read by its id only (Binary/<id>, the url of a DocumentReference's "
                               "attachment); it is not searched and keeps no history.", status=404,
                               code="not-supported")
    if rt is None:
        raise FhirRequestError(f"{name!r} is not a resource type this server serves (see /fhir/R4/metadata).",
                               status=404, code="not-supported")
    return rt


def _clinic(grant):
    from ketaclinic.clinic.models import Clinic

    return Clinic.objects.get(pk=grant.clinic_id)


def _base(request) -> str:
    return request.build_absolute_uri("/fhir/R4/")


# ------------------------------------------------------------------------------------------------------ metadata
#: The bulk-data and import routes (access_urls): listed in the CapabilityStatement only when they are routed.
BULK_OPERATIONS = (
    ("fhir:export", "export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"),
    ("fhir:patient_export", "patient-export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"),
    ("fhir:group_export", "group-export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"),
)


def _routed(name: str) -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse(name, kwargs={"group_id": "x"} if name == "fhir:group_export" else None)
    except NoReverseMatch:
        return False
    return True


@fhir_endpoint
def metadata(request):
    """CapabilityStatement: what this server really does (types, interactions, search parameters)."""
    grant = auth.authorize(request, None, "r")
    search.check_format(request.GET)
    resources = []
    for rt in TYPES.values():
        entry = {
            "type": rt.name,
            "documentation": f"Mapped from {rt.documentation}. No versions are kept: no vread or history.",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "versioning": "no-version",
            "readHistory": False,
            "searchParam": [{"name": p, "type": PARAM_TYPES[p]} for p in rt.search_params]
            + [{"name": "_count", "type": "number"}],
        }
        if "patient" in rt.search_params:
            entry["searchInclude"] = [f"{rt.name}:patient"]
        if rt.name == "Patient":
            entry["operation"] = [{"name": "everything",
                                   "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
        resources.append(entry)
    resources.append({
        "type": "Binary",
        "documentation": "The content of a DocumentReference's attachment (a PDF the clinic keeps), by the id its "
                         "url names. Read only, with the DocumentReference read scope; Accept application/pdf (or "
                         "none) gives the PDF, a FHIR JSON Accept or _format=json the Binary resource.",
        "interaction": [{"code": "read"}],
        "versioning": "no-version",
        "readHistory": False,
    })
    statement = CapabilityStatement(
        status="active",
        date=timezone.now().replace(microsecond=0).isoformat(),
        kind="instance",
        software={"name": "KetaClinic FHIR facade"},
        implementation={"description": "KetaClinic: the clinic's records as FHIR R4 (read-only facade; R4B 4.3.0 "
                                       "models of fhir.resources, wire-compatible with R4 for these resources)",
                        "url": _base(request)},
        fhirVersion="4.0.1",
        format=["json"],
        rest=[{
            "mode": "server",
            "documentation": "Read and search for registered backend clients (SMART Backend Services). Not served: "
                             "Procedure (the dose is the MedicationAdministration of the session's Encounter); "
                             "vread and history (no versions are kept).",
            "security": {"cors": False, "service": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "OAuth2 client credentials with a signed JWT assertion (SMART Backend Services); "
                               "see .well-known/smart-configuration."},
            "resource": resources,
            "interaction": [{"code": "transaction"}] if _routed("fhir:transaction") else None,
            "operation": [{"name": op, "definition": url} for name, op, url in BULK_OPERATIONS if _routed(name)]
            or None,
        }],
    )
    auth.audit_access(grant, request, resource_type="CapabilityStatement", interaction="r", count=1)
    return _response(statement)


# ------------------------------------------------------------------------------------------------------ read
def _patient_of(resource) -> str | None:
    subject = getattr(resource, "subject", None) or getattr(resource, "patient", None)
    if subject is not None and getattr(subject, "reference", "") and subject.reference.startswith("Patient/"):
        return subject.reference.split("/", 1)[1]
    return None


def _patient_row(clinic_id: int, external_id):
    from ketaclinic.patients.models import Patient

    if external_id is None:
        return None
    return Patient.objects.filter(clinic_id=clinic_id, external_id=external_id).first()


@fhir_endpoint
def read(request, resource_type: str, resource_id: str):
    """One resource by its id; 404 when it is not this clinic's (another clinic's id is not told apart from an
    unknown one)."""
    if resource_type == "Binary":
        return binary(request, resource_id)
    rt = _type(resource_type)
    grant = auth.authorize(request, rt.name, "r")
    search.check_format(request.GET)
    unknown = set(request.GET) - {"_format"}
    if unknown:
        raise FhirRequestError(f"Unknown parameter {sorted(unknown)[0]!r} on a read (only _format is taken).",
                               expression=sorted(unknown)[0])
    row = rt.find(grant.clinic_id, resource_id)
    resource = None
    if row is not None:
        resource = next((r for r in rt.to_fhir(row) if r.id == resource_id), None)
    if resource is None:
        auth.audit_access(grant, request, resource_type=rt.name, interaction="r", count=0)
        raise FhirRequestError(f"{rt.name}/{resource_id} is not known here.", status=404, code="not-found")
    patient = row if rt.name == "Patient" else None
    if patient is None and _patient_of(resource):
        patient = _patient_row(grant.clinic_id, _patient_of(resource))
    auth.audit_access(grant, request, resource_type=rt.name, interaction="r", count=1, patient=patient)
    return _response(resource, etag=True, request=request)


#: Binary is read with the DocumentReference read scope: a Binary here is always the content of a DocumentReference
#: (its attachment's url), and what a client may read of a document is one decision, not two.
BINARY_SCOPE_TYPE = "DocumentReference"
_FHIR_FORMATS = ("application/fhir+json", "application/json", "application/json+fhir")


def wants_fhir_json(request) -> bool:
    """FHIR R4 Binary read: the Binary resource when the client asks for a FHIR format (``_format`` or an Accept
    of FHIR JSON); otherwise the document itself (``Accept: application/pdf``, ``*/*`` or none)."""
    if request.GET.get("_format"):
        return True
    accept = [part.split(";")[0].strip().lower() for part in request.headers.get("Accept", "").split(",")]
    return any(a in _FHIR_FORMATS for a in accept)


def binary(request, resource_id: str):
    """``Binary/<id>``: a stored document's bytes (a PDF), or with a FHIR Accept the Binary resource (base64
    ``data``). Needs the DocumentReference read scope; another clinic's id is 404; audited like every read."""
    from fhir.resources.R4B.binary import Binary

    from ketaclinic.fhir.models import StoredPdf

    grant = auth.authenticate(request)
    if not grant.allows(BINARY_SCOPE_TYPE, "r"):
        raise auth.refused(grant, request, "Binary", "r", "Binary is read with the DocumentReference read scope "
                           "(e.g. system/DocumentReference.rs), which this client's token does not carry (its "
                           f"scopes: {' '.join(sorted(grant.scopes)) or 'none'}).")
    search.check_format(request.GET)
    unknown = set(request.GET) - {"_format"}
    if unknown:
        raise FhirRequestError(f"Unknown parameter {sorted(unknown)[0]!r} on a read (only _format is taken).",
                               expression=sorted(unknown)[0])
    key = _uuid_or_none(resource_id)
    stored = (StoredPdf.objects.filter(clinic_id=grant.clinic_id, external_id=key).select_related("patient").first()
              if key is not None else None)
    if stored is None:
        auth.audit_access(grant, request, resource_type="Binary", interaction="r", count=0)
        raise FhirRequestError(f"Binary/{resource_id} is not known here.", status=404, code="not-found")
    if stored.content is None:  # reserved by a bulk export: drawn now, if the record still shows that version
        if not documents.draw_reserved(stored):
            auth.audit_access(grant, request, resource_type="Binary", interaction="r", count=0, patient=stored.patient,
                              details={"outcome": "gone", "binary": str(stored.external_id)})
            raise FhirRequestError(
                f"Binary/{resource_id} was named by a bulk export before it was drawn, and its record has changed "
                "or was entered in error since, so that copy cannot be drawn any more; read the DocumentReference "
                "again: it names the current copy (or, entered in error, the last copy kept).", status=410,
                code="deleted")
        stored.refresh_from_db(fields=["content", "sha1", "size"])
    content = bytes(stored.content)
    auth.audit_access(grant, request, resource_type="Binary", interaction="r", count=1, patient=stored.patient)
    tag = f'W/"{stored.sha1}"'
    if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    elif wants_fhir_json(request):
        response = HttpResponse(Binary(id=str(stored.external_id), contentType=documents.PDF,
                                       data=base64.b64encode(content)).model_dump_json(exclude_none=True),
                                content_type=FHIR_JSON)
    else:
        response = HttpResponse(content, content_type=documents.PDF)
        response["Content-Disposition"] = f'inline; filename="{stored.kind}-{stored.external_id}.pdf"'
    response["ETag"] = tag
    response["Vary"] = "Accept"
    return response


@fhir_endpoint
def no_history(request, resource_type: str, resource_id: str, version: str | None = None):
    rt = _type(resource_type)
    auth.authorize(request, rt.name, "r")
    raise FhirRequestError(f"No versions of {rt.name} are kept, so there is no history or vread; read "
                           f"{rt.name}/{resource_id} for the current one.", status=404, code="not-supported")


# ------------------------------------------------------------------------------------------------------ search
def _concept_matches(concept: dict, tokens) -> bool:
    """Whether a code concept (as a dict) has a coding one of the tokens names."""
    for system, code in tokens:
        for c in concept.get("coding", ()):
            if c.get("code") == code and (system is None or (system == "" and not c.get("system"))
                                           or c.get("system") == system):
                return True
    return False


def _code_matches(resource, tokens) -> bool:
    concept = getattr(resource, "code", None)
    codings = [{"system": c.system, "code": c.code} for c in (getattr(concept, "coding", None) or [])]
    return _concept_matches({"coding": codings}, tokens)


def _category_matches(resource, categories) -> bool:
    for concept in getattr(resource, "category", None) or []:
        for c in concept.coding or []:
            if c.code in categories:
                return True
    return False


def _source_qs(rt: ResourceType, source: Source, query: search.SearchQuery, clinic):
    """The source's rows the query may match (ordered), or None when it can match none."""
    if query.categories is not None and not (source.categories & set(query.categories)):
        return None
    if query.codes is not None and source.emits is not None and not source.may_emit(query.codes):
        return None
    if query.types is not None and not source.may_be_of_type(query.types):
        return None
    qs = source.queryset(clinic.pk)
    if query.patients is not None:
        if source.patient is None:
            return None
        path = "external_id" if source.patient == "" else f"{source.patient}__external_id"
        qs = qs.filter(**{f"{path}__in": query.patients})
    if query.codes is not None and source.narrow is not None:
        qs = source.narrow(qs, query.codes)
        if qs is None:
            return None
    for clause in query.dates:
        qs = qs.filter(clause.q("fhir_date", as_day=source.date_is_day, tz=clinic.tz))
    if source.updated:
        for clause in query.last_updated:
            qs = qs.filter(clause.q(source.updated))
    if rt.name == "Patient":
        if query.ids is not None:
            from ketaclinic.fhir.registry import _uuid

            qs = qs.filter(external_id__in=[u for u in map(_uuid, query.ids) if u is not None])
        if query.identifiers is not None:
            from ketaclinic.fhir import codes

            qs = qs.filter(mrn__in=[v for s, v in query.identifiers if s in (None, codes.LOCAL_MRN)])
    return qs.order_by(*source.order)


def matching(rt: ResourceType, query: search.SearchQuery, clinic, *, skip: int = 0) -> Iterator:
    """The resources the query matches, in order, after the first ``skip`` of them. Where a source maps each row to
    exactly one resource and nothing is filtered after mapping, the skipped rows are skipped in the database
    (counted, then an OFFSET), not mapped."""
    keep = (lambda concept: _concept_matches(concept, query.codes)) if query.codes is not None else None
    post_filtered = query.codes is not None or query.categories is not None or query.ids is not None
    for source in rt.sources:
        qs = _source_qs(rt, source, query, clinic)
        if qs is None:
            continue
        if skip and source.one_per_row and not post_filtered:
            rows = qs.count()
            if rows <= skip:
                skip -= rows
                continue
            qs, skip = qs[skip:], 0
        chunk = max(min(query.count + skip + 1, 2000), 50)
        for row in qs.iterator(chunk_size=chunk):
            for resource in source.to_fhir_keeping(row, keep) if keep else source.to_fhir(row):
                if query.codes is not None and not _code_matches(resource, query.codes):
                    continue
                if query.categories is not None and not _category_matches(resource, query.categories):
                    continue
                if query.ids is not None and resource.id not in query.ids:
                    continue
                if skip:
                    skip -= 1
                    continue
                yield resource


def page(resources: Iterator, offset: int, count: int) -> tuple[list, bool]:
    """``count`` resources after the first ``offset``, and whether there are more (``count`` 0: none, and no
    next link, which would name the same page again)."""
    if count == 0:
        return [], False
    out = []
    for i, resource in enumerate(resources):
        if i < offset:
            continue
        if len(out) == count:
            return out, True
        out.append(resource)
    return out, False


def _link(request, offset: int) -> str:
    params = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != "_offset"]
    params.append(("_offset", str(offset)))
    return request.build_absolute_uri(request.path) + "?" + urlencode(params)


def _bundle(request, found: list, more: bool, query: search.SearchQuery, includes: list) -> Bundle:
    base = _base(request)
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if more:
        links.append({"relation": "next", "url": _link(request, query.offset + query.count)})
    if query.offset:
        links.append({"relation": "previous", "url": _link(request, max(query.offset - query.count, 0))})
    entries = [{"fullUrl": f"{base}{r.get_resource_type()}/{r.id}", "resource": r, "search": {"mode": "match"}}
               for r in found]
    entries += [{"fullUrl": f"{base}Patient/{r.id}", "resource": r, "search": {"mode": "include"}} for r in includes]
    return Bundle(type="searchset", link=links, entry=entries or None,
                  total=None if more or query.offset or query.count == 0 else len(found))


def _included_patients(clinic, found: list) -> tuple[list, list]:
    """The Patient resources the found resources refer to (one query), and their rows."""
    from ketaclinic.fhir.mappers.administrative import patient as patient_to_fhir
    from ketaclinic.patients.models import Patient

    ids = {pid for pid in (_patient_of(r) for r in found) if pid}
    if not ids:
        return [], []
    rows = list(Patient.objects.filter(clinic_id=clinic.pk, external_id__in=ids).select_related("clinic"))
    return [res for p in rows for res in patient_to_fhir(p)], rows


@fhir_endpoint
def search_type(request, resource_type: str):
    """Search a type: the parameters of :mod:`ketaclinic.fhir.search`, ``_count`` with next links."""
    rt = _type(resource_type)
    grant = auth.authorize(request, rt.name, "s")
    clinic = _clinic(grant)
    query = search.parse(rt.name, rt.search_params, request.GET, clinic.tz)
    if query.include_patient and rt.name != "Patient" and not grant.allows("Patient", "r"):
        raise auth.refused(grant, request, "Patient", "r", f"_include={rt.name}:patient returns Patient resources, "
                           "and this client's token does not allow it to read Patient (its scopes: "
                           f"{' '.join(sorted(grant.scopes)) or 'none'}).")
    found, more = page(matching(rt, query, clinic, skip=query.offset), 0, query.count)
    includes, patient_rows = _included_patients(clinic, found) if query.include_patient else ([], [])
    bundle = _bundle(request, found, more, query, includes)
    patient = None
    if query.patients is not None and len(query.patients) == 1:
        patient = next((p for p in patient_rows if p.external_id == query.patients[0]), None) or \
            _patient_row(clinic.pk, query.patients[0])
    auth.audit_access(grant, request, resource_type=rt.name, interaction="s", count=len(found), patient=patient)
    return _response(bundle)


@fhir_endpoint
def everything(request, resource_id: str):
    """Patient/$everything: the patient and every resource about them this client may search, one searchset
    Bundle, paged like a search (``_count``, default 500; ``next`` links)."""
    grant = auth.authorize(request, "Patient", "r")
    clinic = _clinic(grant)
    query = search.parse("Patient", (), request.GET, clinic.tz)
    if "_count" not in request.GET:
        query.count = EVERYTHING_COUNT
    patient = _patient_row(clinic.pk, _uuid_or_none(resource_id))
    if patient is None:
        auth.audit_access(grant, request, resource_type="Patient", interaction="r", count=0)
        raise FhirRequestError(f"Patient/{resource_id} is not known here.", status=404, code="not-found")
    query.patients = [patient.external_id]

    def stream():
        from ketaclinic.fhir.mappers.administrative import patient as patient_to_fhir

        yield from patient_to_fhir(patient)
        for rt in TYPES.values():
            if rt.name == "Patient" or "patient" not in rt.search_params or not grant.allows(rt.name, "s"):
                continue
            sub = search.SearchQuery(rt.name, patients=query.patients)
            yield from matching(rt, sub, clinic)

    found, more = page(stream(), query.offset, query.count)
    bundle = _bundle(request, found, more, query, [])
    auth.audit_access(grant, request, resource_type="Patient", interaction="r", count=len(found), patient=patient)
    return _response(bundle)


def _uuid_or_none(value: str):
    from ketaclinic.fhir.registry import _uuid

    return _uuid(value) if len(value) == 36 else None


@csrf_exempt  # a bearer token, no cookie
def not_found(request, rest: str):
    """Any path under the FHIR base that no route serves (``patient`` in lower case, an id over 64 characters, a
    misspelt operation): a 404 OperationOutcome for a client with a valid token (401 without one), never Django's
    HTML page."""
    try:
        auth.authenticate(request)
    except auth.FhirAuthError as e:
        return e.response()
    return operation_outcome(404, "not-found", f"Nothing is served at {rest!r}: resource types start with a "
                             "capital letter (e.g. Patient), ids are 1 to 64 letters, digits, '-' or '.'; see "
                             "/fhir/R4/metadata for what this server offers.")
