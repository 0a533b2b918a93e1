"""Demo portal accounts (synthetic) with known passwords, printed by the seed; plus one open invitation. The
education pages are installed with the project's text, which the demo prescriber has approved (a real clinic's
prescriber reviews them first)."""

from __future__ import annotations

import os
from datetime import timedelta

from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.measures.models import DueItem, Timing
from ketaclinic.patients import services as patient_services
from ketaclinic.patients.models import Patient
from ketaclinic.portal import education, services
from ketaclinic.portal.models import PatientAccount

PORTAL_PASSWORD = "demo-portal-2026"


def seed(ctx) -> None:
    ids = ctx.extra.get("measures_portal_patients") or [p.pk for p in ctx.patients[:3]]
    by_pk = Patient.objects.in_bulk(ids[:3])
    patients = [by_pk[i] for i in ids[:3] if i in by_pk]
    logins = []
    for n, patient in enumerate(patients[:2], 1):
        email = f"patient{n}@example.invalid"
        # through the registry's use case, so the patient's record stays sealed as the application wrote it
        patient = patient_services.update_patient.within(actor=_frontdesk_actor(ctx), patient=patient, data={"email": email})
        user = User.objects.create_user(username=email, email=email, password=PORTAL_PASSWORD,
                                        first_name=patient.legal_given_name, last_name=patient.legal_family_name,
                                        is_demo=True)
        PatientAccount.objects.create(user=user, patient=patient)
        logins.append((email, patient))
        # A PHQ-9 waiting in the portal, so the demo shows the questionnaire flow.
        now = timezone.now()
        if not DueItem.objects.filter(patient=patient, status=DueItem.Status.OPEN, scale="phq9",
                                      available_from__lte=now).exists():
            DueItem.objects.create(patient=patient, scale="phq9", timing=Timing.AD_HOC, slot_key="demo:portal",
                                   available_from=now - timedelta(hours=2), due_at=now + timedelta(days=2))
    _education(ctx)
    invite_token = None
    if len(patients) > 2:
        patient = patients[2]
        patient = patient_services.update_patient.within(actor=_frontdesk_actor(ctx), patient=patient,
                                                  data={"email": "patient3@example.invalid"})
        _inv, invite_token = services.invite.within(actor=_frontdesk_actor(ctx), patient=patient,
                                             link_base=f"{_base()}/portal/invite/")
    print("\nPatient portal demo logins (synthetic; a new device gets a 6-digit code, printed to the server "
          "console by the demo email backend):")
    for email, patient in logins:
        print(f"  {email:<28} password {PORTAL_PASSWORD}   ({patient.display_name}, {patient.mrn})")
    if invite_token:
        print(f"  Open invitation (valid {services.INVITE_HOURS} h, one use): "
              f"{_base()}/portal/invite/{invite_token}/")


def _frontdesk_actor(ctx):
    from ketaclinic.audit.services import Actor

    user = ctx.users["frontdesk"]
    return Actor.for_user(user)


def _base() -> str:
    """Where ``./dev demo`` serves the clinic (it listens on 127.0.0.1 at $PORT, default 8000)."""
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"


def _education(ctx) -> None:
    from ketaclinic.audit.services import Actor

    education.install_shipped.within(clinic=ctx.clinic)
    prescriber = ctx.users["prescriber"]
    by = Actor.for_user(prescriber)
    for page in education.EducationPage.objects.filter(clinic=ctx.clinic):
        first = page.versions.order_by("number").first()
        if first is not None and first.approved_at is None and education.published(page) is None:
            education.approve.within(actor=by, version=first)
