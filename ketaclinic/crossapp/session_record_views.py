"""The session record: a print view (HTML with print CSS, the vitals chart as inline SVG) and a PDF, both read
by a prescriber, a nurse or the compliance lead (``ketaclinic/access.py``), each look audited against the
patient."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.crossapp import session_record, session_record_pdf
from ketaclinic.patients.careteam import guarded


def _record(request, external_id, action: AuditAction):
    s = get_object_or_404(session_record.session_queryset(), external_id=external_id, patient__clinic=current_clinic())
    s = guarded(request, session_record.with_people(s))
    record = session_record.build(session_record.gather(s))
    audit.record(Actor.from_request(request), action, subject=s, patient=s.patient,
                 details={"status": record.status})
    return s, record


def session(request, external_id):
    s, record = _record(request, external_id, AuditAction.SESSION_RECORD_VIEWED)
    chart = mark_safe(session_record.chart_svg(record.chart)) if record.chart else ""  # noqa: S308 - built and escaped by chart_svg
    return render(request, "crossapp/session_record.html", {"s": s, "record": record, "chart_svg": chart})


def session_pdf(request, external_id):
    s, record = _record(request, external_id, AuditAction.SESSION_RECORD_PDF_EXPORTED)
    resp = HttpResponse(session_record_pdf.render(record, s.patient.clinic.tz), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="{record.filename}"'
    return resp
