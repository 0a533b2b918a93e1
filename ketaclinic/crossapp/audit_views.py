"""The audit search page (compliance): entries found by patient MRN, user, action and dates.

It lives in the top layer because it looks up patients and users, and both the patients and the accounts apps
write to the audit trail (they import the audit app, so the audit app cannot import them).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.forms import AuditSearchForm
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic_id
from ketaclinic.patients.models import Patient


def at_this_clinic(clinic_id: int) -> Q:
    """The entries of one clinic of the network: about its patients, and those about no patient made at it (the
    entry names the clinic the request acted for). Entries made outside any clinic (the worker, a command: backups,
    checkpoints) or before entries named their clinic (when the install was one clinic) are its first clinic's."""
    made_here = Q(clinic_pk=clinic_id)
    if clinic_id == Clinic.objects.order_by("pk").values_list("pk", flat=True).first():
        made_here |= Q(clinic_pk__isnull=True)
    return Q(patient__clinic_id=clinic_id) | Q(patient__isnull=True) & made_here


def search(request):
    form = AuditSearchForm(request.GET or None)
    here = current_clinic_id()
    entries = AuditEntry.objects.filter(at_this_clinic(here)).select_related("patient").order_by("-seq")
    filtered = False
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        if data["patient"]:
            mrn = data["patient"].strip().upper().replace("-", "")
            patient = Patient.objects.filter(mrn=mrn, clinic_id=here).first()
            if patient is None:
                form.add_error("patient", f"No patient with MRN {mrn}.")
            entries = entries.filter(patient=patient)
            filtered = True
        if data["user"]:
            user = User.objects.filter(username__iexact=data["user"].strip()).first()
            if user is None:
                form.add_error("user", f"No user {data['user']!r}.")
            entries = entries.filter(actor=user)
            filtered = True
        if data["action"]:  # a choice: one AuditAction value, or a domain ("custody.") for all its actions
            action = data["action"]
            entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
            filtered = True
        if data["date_from"]:
            entries = entries.filter(at__gte=datetime.combine(data["date_from"], time.min, tz))
            filtered = True
        if data["date_to"]:
            entries = entries.filter(at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tz))
            filtered = True
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    audit.record(Actor.from_request(request), AuditAction.AUDIT_SEARCHED, details={"query": request.GET.dict()})
    return render(request, "audit/search.html", {"form": form, "page": page, "filtered": filtered})
