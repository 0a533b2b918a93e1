"""The clinic's printable PDFs as FHIR: a DocumentReference for each signed or issued document, whose attachment
points at ``Binary/<id>``, the stored bytes.

Where the documents come from. Each app that prints a document a clinic keeps offers a module
``<app>/fhir_documents.py`` with ``DOCUMENTS``, a tuple of objects shaped like :class:`DocumentSource`
(``crossapp``: the signed session record; ``billing``: issued superbills; ``treatments``: completed Spravato REMS
forms). The facade finds them by module name (``ketaclinic.apphooks.app_hooks``), so no app below ``fhir`` imports
it and ``fhir`` imports no app above it; those modules speak of their own records only.

Same bytes every time. The app's PDFs print the moment they are printed (their footers, fpdf2's creation date),
so drawing one again would give other bytes. The facade draws a document the first time a FHIR answer names it and
keeps that copy (:class:`~ketaclinic.fhir.models.StoredPdf`); ``size`` and ``hash`` (base64 SHA-1, FHIR R4
Attachment.hash) are of those bytes, and ``Binary/<id>`` serves them. A record that changes in a way its document
shows (a new addendum, the co-signature, a REMS form submitted) gets a new copy under a new Binary id; the older
copies stay readable by their ids.

A bulk export does not draw (drawing costs about a third of a second a document, days for a large clinic's
history): with :data:`DRAW` off it reserves the copy's id for the record's version and writes the URL without
``size`` and ``hash``. The first ``Binary`` read draws and keeps that copy, unless the record has moved on since
(then it answers 410, and the DocumentReference read again names the new copy).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from contextlib import nullcontext
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, router, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from fhir.resources.R4B.documentreference import DocumentReference

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, patient_ref, practitioner_ref, ref

PDF = "application/pdf"
logger = logging.getLogger(__name__)

#: The FHIR base URL the attachment URLs are written against (set per request by the views and per job by the
#: bulk export); without one, the URL is relative to the FHIR base (``Binary/<id>``).
BASE_URL: ContextVar[str] = ContextVar("fhir_base_url", default="")

#: Whether an answer that names a document not drawn yet draws it now (reads, searches, ``$everything``: bounded by
#: a page or one patient) or only reserves its copy (the bulk export, which sets it off for its job).
DRAW: ContextVar[bool] = ContextVar("fhir_draw_documents", default=True)


class DocumentSource(Protocol):
    """What an app's ``fhir_documents.DOCUMENTS`` entry offers (in its own terms; nothing here is imported)."""

    kind: str  # our document code (urn:ketaclinic:document), e.g. "session-record"
    display: str  # what the document is, e.g. "Treatment session record (PDF)"
    suffix: str  # the DocumentReference id is "<record's public id>-<suffix>"
    category: str  # "clinical-note" (US Core) or "billing" (ours)
    record_field: str  # ORM path from a row to the record's public id (the DocumentReference id's stem)
    patient: str  # ORM path from a row to patients.Patient
    order: tuple[str, ...]

    def queryset(self, clinic_id: int) -> QuerySet: ...  # rows with a document, annotated with ``fhir_date``

    def record_id(self, row) -> Any: ...

    def version(self, row) -> str: ...  # which state of the record the document shows

    def current(self, row) -> bool: ...  # False: entered in error (a voided invoice)

    def patient_of(self, row) -> Any: ...

    def authors(self, row) -> list: ...

    def encounter(self, row) -> Any | None: ...  # the treatment session's public id, if any

    def title(self, row) -> str: ...

    def render(self, row) -> bytes: ...


def sources() -> list[DocumentSource]:
    """Every installed app's documents, in ``INSTALLED_APPS`` order."""
    from ketaclinic.apphooks import app_hooks

    return [doc for module in app_hooks("fhir_documents", gatherer="ketaclinic.fhir") for doc in module.DOCUMENTS]


def with_stored(doc: DocumentSource, qs: QuerySet) -> QuerySet:
    """``qs`` annotated with the newest stored copy of each row's document (four columns of one index lookup):
    ``fhir_pdf_id``, ``fhir_pdf_version``, ``fhir_pdf_sha1``, ``fhir_pdf_size``."""
    from ketaclinic.fhir.models import StoredPdf

    newest = StoredPdf.objects.filter(kind=doc.kind, record_id=OuterRef(doc.record_field)).order_by("-pk")
    return qs.annotate(**{f"fhir_pdf_{name}": Subquery(newest.values(column)[:1])
                          for name, column in (("id", "external_id"), ("version", "version"), ("sha1", "sha1"),
                                               ("size", "size"))})


def digest(content: bytes) -> str:
    """FHIR R4 Attachment.hash: the base64 of the SHA-1 of the bytes."""
    return base64.b64encode(hashlib.sha1(content).digest()).decode("ascii")  # noqa: S324 - FHIR defines SHA-1 here


Copy = tuple[Any, str | None, int | None]  # (Binary id, hash, size); hash and size None until drawn


def _key(doc: DocumentSource, row) -> dict:
    return {"kind": doc.kind, "record_id": doc.record_id(row), "version": doc.version(row)}


def _keep(doc: DocumentSource, row, content: bytes | None) -> Copy:
    """Keep ``content`` as the row's copy of its version (``None``: only reserve the copy's id). A copy another
    request kept first wins, so every answer names the same bytes; a reserved copy is filled in once."""
    from ketaclinic.fhir.models import StoredPdf

    patient = doc.patient_of(row)
    key = _key(doc, row)
    drawn = {} if content is None else {"sha1": digest(content), "size": len(content), "content": content,
                                        "worker_skipped_at": None}
    stored = StoredPdf.objects.using(router.db_for_write(StoredPdf))
    if drawn and stored.filter(**key, content__isnull=True).update(**drawn):  # a reserved copy filled in
        kept = stored.get(**key)
    else:
        try:
            with transaction.atomic(using=stored.db):
                kept = stored.create(clinic_id=patient.clinic_id, patient=patient, **key, **drawn)
        except IntegrityError:  # another request kept or reserved it first
            if drawn:
                stored.filter(**key, content__isnull=True).update(**drawn)
            kept = stored.get(**key)
    return kept.external_id, kept.sha1 or None, kept.size


def _reload(doc: DocumentSource, clinic_id: int, record_id):
    """The record's row as it stands now (annotated like a search's), or None."""
    return with_stored(doc, doc.queryset(clinic_id)).filter(**{doc.record_field: record_id}).first()


def draw(doc: DocumentSource, row) -> Copy | None:
    """The row's document drawn now and kept, or the copy of this version already kept (never drawn twice). None
    when the record changed while it was being drawn (the bytes would show a later version than the key says)."""
    from ketaclinic.fhir.models import StoredPdf

    kept = (StoredPdf.objects.using(router.db_for_write(StoredPdf)).filter(**_key(doc, row), content__isnull=False)
            .values_list("external_id", "sha1", "size").first())
    if kept is not None:
        return kept
    content = bytes(doc.render(row))  # the document reads its record again: check it still shows this version
    now = _reload(doc, doc.patient_of(row).clinic_id, doc.record_id(row))
    if now is None or doc.version(now) != doc.version(row) or doc.current(now) != doc.current(row):
        return None
    return _keep(doc, row, content)


def _last_drawn(doc: DocumentSource, row) -> Copy | None:
    from ketaclinic.fhir.models import StoredPdf

    return (StoredPdf.objects.filter(kind=doc.kind, record_id=doc.record_id(row), content__isnull=False)
            .order_by("-pk").values_list("external_id", "sha1", "size").first())


def stored_copy(doc: DocumentSource, row) -> Copy | None:
    """(Binary id, hash, size) of the row's document: the kept copy of this version, else one drawn and kept now
    (or, with :data:`DRAW` off, reserved: no hash or size yet). A document entered in error keeps its last drawn
    copy; one never drawn has no copy (id None); one never named by any answer gives None (no resource)."""
    current = doc.current(row)
    if not current:
        if row.fhir_pdf_id is None:
            return None
        return (row.fhir_pdf_id, row.fhir_pdf_sha1, row.fhir_pdf_size) if row.fhir_pdf_sha1 else (
            _last_drawn(doc, row) or (None, None, None))
    if row.fhir_pdf_id is not None and row.fhir_pdf_version == doc.version(row) and (row.fhir_pdf_sha1
                                                                                    or not DRAW.get()):
        return row.fhir_pdf_id, row.fhir_pdf_sha1 or None, row.fhir_pdf_size
    if not DRAW.get():
        return _keep(doc, row, None)
    for _ in range(3):  # a record changed while it was drawn is drawn again as it now stands
        copy = draw(doc, row)
        if copy is not None:
            return copy
        row = _reload(doc, doc.patient_of(row).clinic_id, doc.record_id(row))
        if row is None or not doc.current(row):
            return None
    raise RuntimeError(f"{doc.kind} {doc.record_id(row)} kept changing while it was drawn")


def source_of(kind: str) -> DocumentSource | None:
    return next((doc for doc in sources() if doc.kind == kind), None)


def draw_reserved(stored) -> bool:
    """Draw a copy a bulk export reserved, if its record shows that version now and is current (a record whose
    version came back, a REMS answer corrected and then corrected back, is drawn too); False otherwise: the copy
    cannot be drawn as the export saw it, and the background worker is told to leave it."""
    doc = source_of(stored.kind)
    row = _reload(doc, stored.clinic_id, stored.record_id) if doc is not None else None
    if row is not None and doc.current(row) and doc.version(row) == stored.version and draw(doc, row) is not None:
        return True
    _skip(stored)
    return False


def _skip(stored) -> None:
    """The background worker leaves this reserved copy (a Binary read still tries it)."""
    from django.utils import timezone

    from ketaclinic.fhir.models import StoredPdf

    StoredPdf.objects.filter(StoredPdf.WAITING, pk=stored.pk).update(worker_skipped_at=timezone.now())


def draw_reserved_batch(limit: int) -> tuple[int, int, bool]:
    """Draw up to ``limit`` reserved copies, oldest first (the background worker): (drawn, skipped, whether more
    are waiting). On PostgreSQL each copy is claimed with ``SKIP LOCKED``, so several workers draw different
    copies; a copy whose drawing fails is logged and skipped (a Binary read still tries it), never retried for
    ever at the head of the queue. On SQLite nothing is held while drawing (a write transaction there would stop
    every other writer of the clinic)."""
    from django.db import connections

    from ketaclinic.fhir.models import StoredPdf

    db = router.db_for_write(StoredPdf)
    claims = connections[db].features.has_select_for_update_skip_locked
    waiting = StoredPdf.objects.using(db).filter(StoredPdf.WAITING).order_by("pk")
    drawn = skipped = 0
    for _ in range(limit):
        with transaction.atomic(using=db) if claims else nullcontext():
            stored = (waiting.select_for_update(skip_locked=True) if claims else waiting).first()
            if stored is None:
                break
            try:
                with transaction.atomic(using=db) if claims else nullcontext():
                    ok = draw_reserved(stored)
            except Exception:  # one document that cannot be drawn must not stop the others
                logger.exception("could not draw reserved %s copy %s", stored.kind, stored.external_id)
                _skip(stored)
                ok = False
        drawn += ok
        skipped += not ok
    return drawn, skipped, waiting.exists()


def binary_url(binary_id) -> str:
    return f"{BASE_URL.get()}Binary/{binary_id}"


def category_concept(category: str) -> dict:
    return (codes.DOC_CLINICAL_NOTE if category == codes.DOC_CLINICAL_NOTE.code else codes.DOC_BILLING).concept()


def document_reference(doc: DocumentSource, row) -> list[DocumentReference]:
    """The DocumentReference of the row's PDF, with the elements US Core DocumentReference requires (status, type,
    category, subject, date, author, content with contentType and url, context.encounter). It does not claim the
    US Core profile: the profile's type binding asks for a LOINC document code, and none is confirmed in
    clinical.md, so the type is our own code (as the session note's). None for a document entered in error that
    no answer ever named. A copy not drawn yet (a bulk export's) has no ``size`` or ``hash``."""
    stored = stored_copy(doc, row)
    if stored is None:
        return []
    binary_id, sha1, size = stored  # no id: entered in error before any copy was drawn (no url to fetch)
    date: datetime = row.fhir_date
    encounter = doc.encounter(row)
    authors = [practitioner_ref(u) for u in doc.authors(row) if u is not None]
    current = doc.current(row)
    return [DocumentReference(
        id=f"{doc.record_id(row)}-{doc.suffix}",
        status="current" if current else "entered-in-error",
        docStatus="final" if current else "entered-in-error",
        type={"coding": [{"system": codes.LOCAL_DOCUMENT, "code": doc.kind, "display": doc.display}],
              "text": doc.display},
        category=[category_concept(doc.category)],
        subject=patient_ref(doc.patient_of(row)),
        date=instant(date),
        author=authors or None,
        content=[{"attachment": {"contentType": PDF, "language": "en",
                                 "url": binary_url(binary_id) if binary_id is not None else None, "size": size,
                                 "hash": sha1, "title": doc.title(row), "creation": instant(date)}}],  # None: omitted
        context={"encounter": [ref("Encounter", encounter)]} if encounter else None,
    )]
