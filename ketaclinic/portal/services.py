"""Portal use cases: invitations, account creation, the emailed sign-in code and trusted devices.

Invitation tokens and sign-in codes are random, shown once, and stored only as SHA-256 hashes. Comparisons
are constant-time. Every step is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.inputs import InputError, check_email_address
from ketaclinic.patients.models import Patient
from ketaclinic.portal.models import Invitation, LoginCode, PatientAccount, TrustedDevice
from ketaclinic.usecases import use_case

INVITE_HOURS = int(getattr(settings, "PORTAL_INVITE_HOURS", 72))
CODE_MINUTES = int(getattr(settings, "PORTAL_CODE_MINUTES", 10))
CODE_MAX_ATTEMPTS = int(getattr(settings, "PORTAL_CODE_MAX_ATTEMPTS", 5))
DEVICE_DAYS = int(getattr(settings, "PORTAL_TRUSTED_DEVICE_DAYS", 30))
DEVICE_COOKIE = "kc_portal_device"
DEVICE_SALT = "ketaclinic.portal.trusted-device"
SESSION_VERIFIED = "portal_verified_account"


class PortalError(ValueError):
    """Bad input to a portal use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ invitations
def check_invitation_address(raw: str | None, *, where: str = "") -> str:
    """Exactly one email address (:func:`ketaclinic.inputs.check_email_address`), or PortalError on ``email``.
    Checked before anything is written or sent."""
    if not (raw or "").strip():
        raise PortalError({"email": "The patient has no email address; add one to their details first."})
    try:
        return check_email_address(raw, where=where)
    except InputError as refused:
        raise PortalError({"email": refused.message}) from None


@use_case
def invite(*, actor: Actor, patient: Patient, email: str = "", link_base: str = "") -> tuple[Invitation, str]:
    """Create a one-time invitation and email its link; returns (invitation, token). Earlier open invitations
    for the patient are revoked, so only the newest link works."""
    typed = bool((email or "").strip())
    email = check_invitation_address(email if typed else patient.email,
                                     where="" if typed else " on the patient's details (correct it there, or type one here)")
    if hasattr(patient, "portal_account"):
        raise PortalError({"patient": "This patient already has a portal account."})
    now = timezone.now()
    Invitation.objects.filter(patient=patient, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    inv = Invitation.objects.create(patient=patient, email=email, token_hash=_hash(token), created_by=actor.user,
                                    expires_at=now + timedelta(hours=INVITE_HOURS))
    link = f"{link_base}{token}/" if link_base else token
    send_mail(
        f"Your {patient.clinic.name} patient portal invitation",
        f"Hello,\n\n{patient.clinic.name} has invited you to its patient portal. Open this link within "
        f"{INVITE_HOURS} hours to choose your password (it works once):\n\n{link}\n\n"
        f"If you did not expect this email, call the clinic: {patient.clinic.phone}.\n",
        None, [email],
    )
    audit.record(actor, AuditAction.PORTAL_INVITATION_CREATED, subject=inv, patient=patient,
                 details={"email": email, "expires_at": inv.expires_at})
    return inv, token


def find_invitation(token: str) -> Invitation | None:
    """The invitation for a token, whatever its state (the view explains expired/used/revoked)."""
    if not token or len(token) > 100:
        return None
    return Invitation.objects.select_related("patient__clinic").filter(token_hash=_hash(token)).first()


REFUSALS = {
    "used": "This invitation link has already been used. Sign in with your email and password, or ask "
            "the clinic for a new link.",
    "expired": "This invitation link has expired. Ask the clinic to send a new one.",
    "revoked": "This invitation link was replaced by a newer one. Use the newest email from the clinic.",
}


def accept_invitation(*, token: str, password: str, password2: str, client_ip: str | None = None) -> PatientAccount:
    """Create the patient's login (username = the invited email). Refuses expired, used or revoked links.

    A refused link is audited in its own transaction, committed before the refusal is raised."""
    inv = find_invitation(token)
    if inv is None:
        raise PortalError({"token": "This invitation link is not valid."})
    state = inv.state
    if state != "open":
        attempt = Actor(user=None, client_ip=client_ip, label_override=f"portal invitee for patient {inv.patient.mrn}")
        with transaction.atomic():
            audit.record(attempt, AuditAction.PORTAL_INVITATION_REFUSED, subject=inv, patient=inv.patient,
                         details={"state": state})
        raise PortalError({"token": REFUSALS[state]})
    return _accept_open_invitation(inv, password, password2, client_ip)


@use_case
def _accept_open_invitation(inv: Invitation, password: str, password2: str, client_ip: str | None) -> PatientAccount:
    inv = Invitation.objects.select_for_update().select_related("patient__clinic").get(pk=inv.pk)
    state = inv.state
    if state != "open":  # used by a parallel request a moment ago
        raise PortalError({"token": REFUSALS[state]})
    if hasattr(inv.patient, "portal_account"):
        raise PortalError({"token": "This patient already has a portal account."})
    username = inv.email.lower()
    if User.objects.filter(username__iexact=username).exists():
        raise PortalError({"token": "An account with this email already exists. Call the clinic."})
    if password != password2:
        raise PortalError({"password2": "The two passwords do not match."})
    user = User(username=username, email=inv.email, first_name=inv.patient.legal_given_name,
                last_name=inv.patient.legal_family_name)
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise PortalError({"password": " ".join(e.messages)}) from None
    user.set_password(password)
    user.save()
    account = PatientAccount.objects.create(user=user, patient=inv.patient, invitation=inv)
    inv.used_at = timezone.now()
    inv.save(update_fields=["used_at"])
    audit.record(Actor(user=user, roles=frozenset({"patient"}), client_ip=client_ip), AuditAction.PORTAL_ACCOUNT_CREATED,
                 subject=account, patient=inv.patient, details={"username": username})
    return account


# ------------------------------------------------------------------------------------------ new-device code
CODES_PER_HOUR = 5  # with 5 attempts per code, at most 25 guesses an hour at a 1-in-a-million code


def issue_code(*, account: PatientAccount, client_ip: str | None = None) -> str:
    """Email a fresh 6-digit code (older unused codes stop working). Returns the code (for tests only).

    At most CODES_PER_HOUR codes an hour per account, so resending cannot be used to guess codes."""
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    recent = LoginCode.objects.filter(account=account, created_at__gt=now - timedelta(hours=1)).count()
    if recent >= CODES_PER_HOUR:
        raise PortalError({"code": "Too many codes were sent in the last hour. Wait a while, use the newest "
                                   f"email, or call the clinic: {account.patient.clinic.phone}."})
    with transaction.atomic():
        LoginCode.objects.filter(account=account, used_at__isnull=True).update(used_at=now)
        LoginCode.objects.create(account=account, code_hash=_hash(f"{account.pk}:{code}"),
                                 expires_at=now + timedelta(minutes=CODE_MINUTES))
        send_mail(
            "Your KetaClinic sign-in code",
            f"Your sign-in code is {code}. It expires in {CODE_MINUTES} minutes.\n\nIf you did not try to sign in, "
            f"change your password and call the clinic: {account.patient.clinic.phone}.\n",
            None, [account.user.email],
        )
        audit.record(Actor(user=account.user, roles=frozenset({"patient"}), client_ip=client_ip),
                     AuditAction.PORTAL_SIGN_IN_CODE_SENT, subject=account, patient=account.patient)
    return code


def check_code(*, account: PatientAccount, code: str, client_ip: str | None = None) -> bool:
    """True when ``code`` matches the live code; counts failed attempts (the code dies after too many)."""
    actor = Actor(user=account.user, roles=frozenset({"patient"}), client_ip=client_ip)
    with transaction.atomic():
        live = (LoginCode.objects.select_for_update()
                .filter(account=account, used_at__isnull=True, expires_at__gt=timezone.now()).first())
        if live is None:
            audit.record(actor, AuditAction.PORTAL_SIGN_IN_CODE_REFUSED, subject=account, patient=account.patient,
                         details={"reason": "no live code"})
            return False
        ok = hmac.compare_digest(live.code_hash, _hash(f"{account.pk}:{(code or '').strip()}"))
        if ok:
            live.used_at = timezone.now()
        else:
            live.attempts += 1
            if live.attempts >= CODE_MAX_ATTEMPTS:
                live.used_at = timezone.now()
        live.save(update_fields=["used_at", "attempts"])
        audit.record(actor, AuditAction.PORTAL_SIGN_IN_CODE_ACCEPTED if ok else AuditAction.PORTAL_SIGN_IN_CODE_REFUSED,
                     subject=account, patient=account.patient, details={"attempts": live.attempts})
    return ok


def has_live_code(account: PatientAccount) -> bool:
    return LoginCode.objects.filter(account=account, used_at__isnull=True, expires_at__gt=timezone.now()).exists()


def trust_device(*, account: PatientAccount, user_agent: str = "") -> str:
    """Register this browser; returns the signed cookie value."""
    device = TrustedDevice.objects.create(account=account, user_agent=user_agent[:200],
                                          expires_at=timezone.now() + timedelta(days=DEVICE_DAYS))
    return signing.dumps({"a": account.pk, "d": str(device.device_id)}, salt=DEVICE_SALT)


def device_is_trusted(account: PatientAccount, cookie: str | None) -> bool:
    if not cookie:
        return False
    try:
        data = signing.loads(cookie, salt=DEVICE_SALT, max_age=DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return False
    if data.get("a") != account.pk:
        return False
    return TrustedDevice.objects.filter(account=account, device_id=data.get("d"), revoked_at__isnull=True,
                                        expires_at__gt=timezone.now()).exists()
