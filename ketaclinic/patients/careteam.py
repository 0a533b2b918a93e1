"""Who may open a patient's record, and breaking the glass when one is not on the care team.

With ``KETACLINIC_CHART_ACCESS = "care_team"``, staff holding a role in ``KETACLINIC_CARE_TEAM_ROLES`` open the
records of their own patients only: those whose care team names them (``CareTeamMember``) or whose treatment the
clinical apps record them in (each app's ``careteam.treats(user, patient)`` hook: an order's prescriber, a
session's nurses, the integration therapist, the consult's assessor). Any other record opens only by breaking the
glass: a reason, access for ``KETACLINIC_BREAK_GLASS_MINUTES``, every page opened in that time in the audit trail,
and a review by the compliance lead. With ``"clinic"`` (the default) every role with chart access opens every
record, each opening audited, as before.

``get_patient_for`` (patients/access.py), the one way a view reaches a patient by id, asks :func:`may_open`;
``BreakGlassMiddleware`` turns its refusal into the break-glass page.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ketaclinic.apphooks import app_hooks
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.patients.models import BreakGlassAccess, BreakGlassReview, CareTeamMember, Patient
from ketaclinic.patients.services import RegistryError

# A reason says what happened, in words a reviewer can check: a few words at least.
MIN_REASON_CHARS = 10


class OutsideCareTeam(Exception):
    """The signed-in staff member is not on this patient's care team and has no open break-glass access."""

    def __init__(self, patient: Patient):
        self.patient = patient
        super().__init__(f"{patient} is outside the user's care team")


def restricted(user) -> bool:
    """True when this user's chart access is limited to their care team (the clinic's setting and their roles)."""
    return (settings.KETACLINIC_CHART_ACCESS == "care_team" and getattr(user, "is_authenticated", False)
            and user.has_role(*settings.KETACLINIC_CARE_TEAM_ROLES))


def on_care_team(user, patient: Patient) -> bool:
    if CareTeamMember.objects.filter(patient=patient, member=user, ended_at__isnull=True).exists():
        return True
    return any(hook.treats(user, patient) for hook in app_hooks("careteam", gatherer="ketaclinic.patients"))


def open_access(user, patient: Patient) -> BreakGlassAccess | None:
    """This user's break-glass access to this patient that has not yet expired, if any."""
    return (BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
            .order_by("-expires_at").first())


def may_open(user, patient: Patient) -> bool:
    return not restricted(user) or on_care_team(user, patient) or open_access(user, patient) is not None


def check(user, patient: Patient) -> None:
    if not may_open(user, patient):
        raise OutsideCareTeam(patient)


@transaction.atomic(durable=True)
def break_glass(*, actor: Actor, patient: Patient, reason_kind: str, reason: str) -> BreakGlassAccess:
    """Open a record outside one's care team: the reason is kept with the access and the access is flagged for
    the compliance lead's review."""
    reason = reason.strip()
    if reason_kind not in BreakGlassAccess.Reason.values:
        raise RegistryError({"reason_kind": "Choose why you need this record."})
    if len(reason) < MIN_REASON_CHARS:
        raise RegistryError({"reason": "Say in a sentence why you need this record now; compliance reviews it."})
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        patient=patient, user=actor.user, reason_kind=reason_kind, reason=reason, opened_at=now,
        expires_at=now + timedelta(minutes=settings.KETACLINIC_BREAK_GLASS_MINUTES))
    audit.record(actor, AuditAction.PATIENT_BREAK_GLASS_OPENED, subject=access, patient=patient,
                 details={"reason_kind": reason_kind, "reason": reason, "expires_at": access.expires_at.isoformat()})
    return access


@transaction.atomic(durable=True)
def review(*, actor: Actor, access: BreakGlassAccess, outcome: str, note: str) -> BreakGlassReview:
    note = note.strip()
    if outcome not in BreakGlassReview.Outcome.values:
        raise RegistryError({"outcome": "Choose whether the access was appropriate."})
    if outcome == BreakGlassReview.Outcome.INAPPROPRIATE and not note:
        raise RegistryError({"note": "Say what follows from an access that was not appropriate."})
    if access.user_id == actor.user.pk:
        raise RegistryError({"outcome": "Someone else reviews your own break-glass access."})
    try:
        with transaction.atomic():
            done = BreakGlassReview.objects.create(access=access, outcome=outcome, note=note, reviewed_by=actor.user)
    except IntegrityError:
        raise RegistryError({"outcome": "This access has already been reviewed."}) from None
    audit.record(actor, AuditAction.PATIENT_BREAK_GLASS_REVIEWED, subject=access, patient=access.patient,
                 details={"outcome": outcome, "note": note, "user": access.user_id})
    return done


@transaction.atomic(durable=True)
def add_member(*, actor: Actor, patient: Patient, member) -> CareTeamMember:
    if not member.is_active or not member.has_role(*settings.KETACLINIC_CARE_TEAM_ROLES):
        raise RegistryError({"member": "Only an active prescriber, nurse or therapist joins a care team."})
    if restricted(actor.user) and not on_care_team(actor.user, patient):
        # someone who opened the record by breaking the glass does not widen the team
        raise RegistryError({"member": "Only someone on this patient's care team adds to it."})
    if member.pk == actor.user.pk:
        # else breaking the glass for a few hours and adding oneself would open the record for good, unreviewed
        raise RegistryError({"member": "A colleague on the care team adds you; no one adds themselves."})
    if CareTeamMember.objects.filter(patient=patient, member=member, ended_at__isnull=True).exists():
        raise RegistryError({"member": f"{member.label} is already on the care team."})
    row = CareTeamMember.objects.create(patient=patient, member=member, added_by=actor.user)
    audit.record(actor, AuditAction.PATIENT_CARE_TEAM_ADDED, subject=row, patient=patient,
                 details={"member": member.pk})
    return row


@transaction.atomic(durable=True)
def end_membership(*, actor: Actor, membership: CareTeamMember) -> CareTeamMember:
    row = CareTeamMember.objects.select_for_update().get(pk=membership.pk)
    if row.ended_at is not None:
        raise RegistryError({"member": "This membership has already ended."})
    row.ended_at, row.ended_by = timezone.now(), actor.user
    row.save(update_fields=["ended_at", "ended_by"])
    audit.record(actor, AuditAction.PATIENT_CARE_TEAM_ENDED, subject=row, patient=row.patient,
                 details={"member": row.member_id})
    return row


def unreviewed(clinic) -> list[BreakGlassAccess]:
    """Break-glass accesses in this clinic that wait for review, oldest first, each with the pages its user opened
    on that patient while it lasted (from the audit trail)."""
    rows = list(BreakGlassAccess.objects.filter(patient__clinic=clinic, review__isnull=True)
                .select_related("patient", "user").order_by("opened_at"))
    if not rows:
        return rows
    windows = Q()
    for row in rows:  # the entries of every waiting access, in one query
        windows |= Q(actor_id=row.user_id, patient_id=row.patient_id, at__gte=row.opened_at, at__lte=row.expires_at)
    entries = list(AuditEntry.objects.filter(windows).order_by("at")
                   .values("actor_id", "patient_id", "at", "action", "subject_type", "subject_id"))
    for row in rows:
        row.pages = [e for e in entries if (e["actor_id"], e["patient_id"]) == (row.user_id, row.patient_id)
                     and row.opened_at <= e["at"] <= row.expires_at][:100]
    return rows


def reviewed(clinic, limit: int = 50) -> list[BreakGlassAccess]:
    return list(BreakGlassAccess.objects.filter(patient__clinic=clinic, review__isnull=False)
                .select_related("patient", "user", "review", "review__reviewed_by").order_by("-opened_at")[:limit])


def guarded[R](request, record: R) -> R:
    """``record`` (a consult, order, session, note, questionnaire, appointment, invoice: anything with a
    ``patient``), once its patient is one this user may open; else :class:`OutsideCareTeam`. Every view that reaches
    a patient through another record passes it here, as ``get_patient_for`` does for a patient id."""
    check(request.user, record.patient)
    return record
