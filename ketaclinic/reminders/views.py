"""The reminders pages: the front desk's worklist (rides to confirm, messages that failed), a patient's reminder
consent and time zone, the clinic admin's settings, and the SMS provider's inbound webhook."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.patients.access import get_patient_for
from ketaclinic.reminders import contacts, services
from ketaclinic.reminders.forms import ConsentForm, InboundSmsForm, SettingsForm, TimeZoneForm
from ketaclinic.reminders.models import Channel, Reminder
from ketaclinic.reminders.status import ride_statuses
from ketaclinic.treatments.models import TreatmentSession

WORKLIST_DAYS = 7
ATTENTION = (Reminder.Status.FAILED, Reminder.Status.GAVE_UP, Reminder.Status.UNKNOWN)


def _settings_initial(cfg) -> dict:
    return {name: (getattr(cfg, name).strftime("%H:%M") if name.startswith("quiet_") else getattr(cfg, name))
            for name in services.SETTINGS_FIELDS}


def _worklist_page(request, settings_form=None, status=200):
    clinic = current_clinic()
    now = timezone.now()
    sessions = list(TreatmentSession.objects.filter(
        patient__clinic=clinic, status=TreatmentSession.Status.BOOKED, scheduled_start__gt=now,
        scheduled_start__lte=now + timedelta(days=WORKLIST_DAYS)).select_related("patient").order_by("scheduled_start"))
    statuses = ride_statuses(sessions)
    rides = [(s, statuses[s.pk]) for s in sessions]
    attention = list(Reminder.objects.filter(patient__clinic=clinic, status__in=ATTENTION)
                     .select_related("patient").order_by("-created_at")[:50])
    recent = list(Reminder.objects.filter(patient__clinic=clinic).select_related("patient")
                  .order_by("-created_at", "-pk")[:50])
    cfg = contacts.settings_for(clinic)
    can_edit = can_open(request.user, "reminders:settings")
    return render(request, "reminders/worklist.html", {
        "rides": rides, "attention": attention, "recent": recent, "cfg": cfg, "days": WORKLIST_DAYS,
        "settings_form": settings_form or (SettingsForm(initial=_settings_initial(cfg)) if can_edit else None),
    }, status=status)


def worklist(request):
    return _worklist_page(request)


@require_POST
def update_settings(request):
    form = SettingsForm(posted(request))
    if form.is_valid():
        try:
            services.update_settings(actor=Actor.from_request(request), clinic=current_clinic(),
                                     values=form.cleaned_data)
        except services.ReminderError as refused:
            show_refusal(form, refused.errors)
        else:
            messages.success(request, "Reminder settings saved.")
            return redirect("reminders:worklist")
    return _worklist_page(request, settings_form=form, status=400)


def patient(request, patient_id):
    p = get_patient_for(request, patient_id)
    actor = Actor.from_request(request)
    data = posted(request)
    which = data.get("form") if data is not None else None
    consent_form = ConsentForm(data if which == "consent" else None)
    tz_form = TimeZoneForm(data if which == "time_zone" else None,
                           initial={"time_zone": getattr(getattr(p, "reminder_contact", None), "time_zone", "")})
    bound = consent_form if which == "consent" else tz_form if which == "time_zone" else None
    if bound is not None and bound.is_valid():
        try:
            if bound is consent_form:
                services.record_consent(actor=actor, patient=p, **bound.cleaned_data)
            else:
                services.set_time_zone(actor=actor, patient=p, time_zone=bound.cleaned_data["time_zone"] or "")
        except services.ReminderError as refused:
            show_refusal(bound, refused.errors)
        else:
            messages.success(request, "Saved.")
            return redirect("reminders:patient", patient_id=p.external_id)
    if data is None:
        audit.record(actor, AuditAction.REMINDER_PATIENT_VIEWED, subject=p, patient=p)
    choices = contacts.latest_choices(p)
    channels = [(label, contacts.channel_allowed(p, value, choices), choices.get(value),
                 contacts.address_for(p, value)) for value, label in Channel.choices]
    return render(request, "reminders/patient.html", {
        "patient": p, "channels": channels, "consent_form": consent_form, "tz_form": tz_form,
        "tz": contacts.patient_tz(p), "history": p.channel_consents.select_related("recorded_by").order_by(
            "-recorded_at", "-pk")[:50],
        "messages_sent": Reminder.objects.filter(patient=p).order_by("-created_at", "-pk")[:50],
    }, status=400 if bound is not None else 200)


#: How old a signed post may be: a captured one replayed later (a YES, a STOP) is refused.
SIGNATURE_MAX_AGE_SECONDS = 300


def _signature_ok(request) -> bool | None:
    """None when no signature came; else whether it is the HMAC-SHA256, under the shared secret, of
    ``<X-KetaClinic-Timestamp>.<body>`` with a timestamp (Unix seconds) within five minutes of now."""
    given = request.headers.get("X-KetaClinic-Signature", "")
    if not given:
        return None
    secret = getattr(settings, "KETACLINIC_SMS_WEBHOOK_SECRET", "")
    stamp = request.headers.get("X-KetaClinic-Timestamp", "")
    if not secret or not stamp.isdigit() or len(stamp) > 12:
        return False
    if abs(timezone.now().timestamp() - int(stamp)) > SIGNATURE_MAX_AGE_SECONDS:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, expected)


@csrf_exempt  # an SMS provider posts here, signed with the shared secret, never with a browser session
@require_POST
def sms_inbound(request):
    signed = _signature_ok(request)
    if signed is None:
        return JsonResponse({"error": "The X-KetaClinic-Signature header is missing."}, status=400)
    if not signed:
        return JsonResponse({"error": "The signature does not match, or its timestamp is not within five minutes."},
                            status=403)
    form = InboundSmsForm(posted(request))
    if not form.is_valid():
        return JsonResponse({"error": "Give from_number and text.", "fields": form.errors}, status=400)
    result = services.receive_sms(from_number=form.cleaned_data["from_number"], text=form.cleaned_data["text"],
                                  via="webhook")
    return JsonResponse({"result": result})
