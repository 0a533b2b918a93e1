"""Sign-in with lockout, and staff account use cases."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import LoginThrottle, RoleGrant, User
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import check_dea_number, check_npi


class SignInRefused(Exception):
    pass


def sign_in(request, username: str, password: str) -> User:
    """Authenticate, counting failures per username; lock the account name after too many.

    The refusal is raised only after the transaction commits, so the failure count, the lock and
    the audit entry are kept."""
    now = timezone.now()
    ip = audit.client_ip(request)
    attempt = Actor(user=None, client_ip=ip, label_override=f"sign-in attempt as {username!r}")
    refusal: str | None = None
    with transaction.atomic():
        throttle, _ = LoginThrottle.objects.get_or_create(username=username.lower())
        throttle = LoginThrottle.objects.select_for_update().get(pk=throttle.pk)
        if throttle.locked_until and throttle.locked_until > now:
            minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
            audit.record(attempt, AuditAction.AUTH_SIGN_IN_LOCKED, details={"username": username})
            refusal = f"Too many failed sign-ins. This account is locked for {minutes} more minute(s)."
    if refusal:
        raise SignInRefused(refusal)
    user = authenticate(request, username=username, password=password)
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().get(username=username.lower())
        if user is None or not user.is_active:
            throttle.failures += 1
            throttle.last_failure_at = now
            locked = throttle.failures >= settings.LOGIN_FAILURE_LIMIT
            if locked:
                throttle.locked_until = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
                throttle.failures = 0
            throttle.save()
            audit.record(attempt, AuditAction.AUTH_SIGN_IN_FAILED, details={"username": username, "locked": locked})
            refusal = (f"Too many failed sign-ins. This account is locked for {settings.LOGIN_LOCKOUT_MINUTES} minutes."
                       if locked else "That username and password do not match.")
        else:
            throttle.failures = 0
            throttle.locked_until = None
            throttle.save()
            audit.record(Actor(user=user, roles=user.role_set(), client_ip=ip), AuditAction.AUTH_SIGN_IN, subject=user)
    if refusal:
        raise SignInRefused(refusal)
    return user


def validate_credentials(*, npi: str = "", dea_number: str = "", last_name: str = "") -> dict[str, str]:
    """Normalised NPI and DEA number, or ClinicalInputError naming the field."""
    out = {"npi": "", "dea_number": ""}
    if npi:
        out["npi"] = check_npi(npi)
    if dea_number:
        result = check_dea_number(dea_number, last_name=last_name or None)
        if not result.valid:
            raise ClinicalInputError("; ".join(result.problems), field="dea_number")
        out["dea_number"] = dea_number.strip().upper().replace(" ", "")
    return out


@transaction.atomic
def create_staff(*, actor: Actor, username: str, password: str, roles: set[str], first_name: str, last_name: str,
                 credentials: str = "", npi: str = "", dea_number: str = "", licence_number: str = "",
                 licence_state: str = "", email: str = "", is_demo: bool = False) -> User:
    ids = validate_credentials(npi=npi, dea_number=dea_number, last_name=last_name)
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name, email=email,
        credentials=credentials, licence_number=licence_number, licence_state=licence_state.upper(),
        is_demo=is_demo, **ids,
    )
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in sorted(roles)])
    audit.record(actor, AuditAction.STAFF_CREATED, subject=user, details={"username": username, "roles": sorted(roles)})
    return user
