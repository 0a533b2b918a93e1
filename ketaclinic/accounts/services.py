"""Sign-in (counted and delayed, then the second factor), password reset and change, and staff account use cases.

Each use case runs in its own durable transaction(s): validate, write, audit. Signing in takes two: the password
check's slot is counted and committed *before* the password is compared (so parallel requests each take their own
slot, :mod:`ketaclinic.accounts.throttle`), and the outcome is written after. A refusal's audit entry is committed
before the refusal is raised."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from ketaclinic.accounts import secondfactor, throttle
from ketaclinic.accounts.models import RoleGrant, SignInCounter, User, grant_clinic_id, manages
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tokens import reset_tokens
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import check_dea_number, check_npi
from ketaclinic.usecases import use_case

WRONG_PASSWORD = "That username and password do not match."
WRONG_CODE = "That code is not right. Type the 6 digits your authenticator app shows now, or a recovery code."


class SignInRefused(Exception):
    pass


class AccountError(ValueError):
    """Bad input to an account use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def wait_message(seconds: int) -> str:
    return (f"Too many failed attempts. Try again in {seconds} seconds. A clinic admin can lift this delay, or lift "
            "it yourself with your authenticator code.")


def _attempt(username: str, client_ip: str | None) -> Actor:
    return Actor(user=None, client_ip=client_ip, label_override=f"sign-in attempt as {username[:150]!r}")


def _actor(user, client_ip: str | None) -> Actor:
    roles = user.role_set() or (frozenset({"patient"}) if hasattr(user, "patient_account") else frozenset())
    return Actor(user=user, roles=roles, client_ip=client_ip)


@dataclass(frozen=True)
class PasswordAccepted:
    """A correct password: ``step`` is "" (signed in now), "verify" (the authenticator code next) or "enrol" (set up
    an authenticator first: this account may not sign in without one)."""

    user: User
    step: str


def sign_in(request, username: str, password: str) -> PasswordAccepted:
    """Check a password, at most LOGIN_FAILURE_LIMIT times in a burst per username (and the address's limit per
    source address), each check counted before it is made. Raises SignInRefused with what to do."""
    ip = audit.client_ip(request)
    keys = throttle.sign_in_keys(username, ip)
    with transaction.atomic(durable=True):
        now = timezone.now()
        wait = throttle.take_slot(keys, now)
        if wait is not None:
            audit.record(_attempt(username, ip), AuditAction.AUTH_SIGN_IN_LOCKED,
                         details={"username": username[:150], "wait_seconds": wait})
    if wait is not None:
        raise SignInRefused(wait_message(wait))
    user = authenticate(request, username=username, password=password)
    ok = user is not None and user.is_active
    with transaction.atomic(durable=True):
        throttle.settle(keys, ok=ok)
        if not ok:
            audit.record(_attempt(username, ip), AuditAction.AUTH_SIGN_IN_FAILED, details={"username": username[:150]})
        else:
            step = secondfactor.next_step(user)
            audit.record(_actor(user, ip), AuditAction.AUTH_PASSWORD_ACCEPTED if step else AuditAction.AUTH_SIGN_IN,
                         subject=user, details={"second_factor": step or "none"})
    if not ok:
        raise SignInRefused(WRONG_PASSWORD)
    return PasswordAccepted(user=user, step=step)


def verify_second_factor(*, user: User, code: str, client_ip: str | None) -> str:
    """The authenticator code (or a recovery code) after the password; returns how it was proved, or raises
    SignInRefused. Each failure is counted by the device (the wait doubles) and audited."""
    with transaction.atomic(durable=True):
        wait = secondfactor.wait_for(user, code)  # still waiting after wrong codes: say so, even of a right code
        how = "" if wait else secondfactor.verify(user, code)
        if how:
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SIGN_IN, subject=user,
                         details={"second_factor": how, "recovery_codes_left": secondfactor.recovery_codes_left(user)})
        else:
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SECOND_FACTOR_REFUSED, subject=user,
                         details={"waiting_seconds": wait} if wait else None)
    if not how:
        raise SignInRefused(secondfactor.wait_message(wait) if wait else WRONG_CODE)
    return how


def start_enrolment(user: User):
    """The authenticator being set up for ``user`` (an unconfirmed TOTP device, made once)."""
    with transaction.atomic(durable=True):
        return secondfactor.pending_device(user)


def confirm_enrolment(*, user: User, code: str, client_ip: str | None, signing_in: bool,
                      current_code: str = "") -> list[str]:
    """The first code from the new authenticator confirms it: any earlier authenticator is removed, new recovery
    codes are issued and returned (shown once; only their hashes are kept). Replacing an authenticator also needs
    ``current_code``, a code of the one in use or a recovery code (counted by that device like any other): a
    signed-in session alone does not move the second factor to another phone. ``signing_in``: this also completes
    a sign-in (the password was checked a moment ago)."""
    problem: AccountError | None = None
    with transaction.atomic(durable=True):
        device = secondfactor.pending_device(user)
        replacing = secondfactor.authenticator(user) is not None
        wait = secondfactor.wait_seconds(device)
        # The new app's code first: a typo there does not use up a recovery code typed as the proof.
        if wait:
            problem = AccountError({"code": secondfactor.wait_message(wait)})
        elif not device.verify_token(secondfactor.clean_code(code)):
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SECOND_FACTOR_REFUSED, subject=user,
                         details={"enrolment": True})
            problem = AccountError({"code": "That code does not match. Check the app shows the KetaClinic entry you "
                                            "just added, and type the 6 digits it shows now."})
        elif replacing and not (current_code and secondfactor.verify(user, current_code)):
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SECOND_FACTOR_REFUSED, subject=user,
                         details={"enrolment": True, "current_authenticator": True})
            problem = AccountError({"current_code": CURRENT_CODE_WRONG})
        else:
            type(device).objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = secondfactor.issue_recovery_codes(user)
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SECOND_FACTOR_ENROLLED, subject=user,
                         details={"recovery_codes": len(codes), "replaced": replacing})
            if signing_in:
                audit.record(_actor(user, client_ip), AuditAction.AUTH_SIGN_IN, subject=user,
                             details={"second_factor": "authenticator (enrolled)"})
    if problem is not None:
        raise problem
    return codes


CURRENT_CODE_WRONG = ("That is not a code of your current authenticator. Type the 6 digits it shows now (or one of "
                      "your recovery codes); if you lost it, ask a clinic admin to remove it.")


def unlock_sign_in(*, actor: Actor, kind: str, key: str) -> bool:
    """A clinic admin lifts the sign-in delay of a username or a source address: a username only of an account they
    manage (:func:`ketaclinic.accounts.models.managed_by`; one no account has, to clear a stranger's guesses)."""
    if kind == SignInCounter.Kind.USERNAME:
        user = User.objects.filter(username__iexact=key, patient_account__isnull=True).first()
        if user is not None and not manages(actor.user, user):
            raise AccountError({"key": "That account is not one you manage: an admin of every clinic it works at "
                                       "lifts its delay."})
    with transaction.atomic(durable=True):
        lifted = throttle.clear(throttle.Key(kind, key))
        audit.record(actor, AuditAction.AUTH_SIGN_IN_UNLOCKED, details={"kind": kind, "key": key, "lifted": lifted,
                                                                        "by": "clinic admin"})
    return lifted


def unlock_with_second_factor(*, username: str, code: str, client_ip: str | None) -> bool:
    """A clinician lifts the delay on their own username with their authenticator (or a recovery code): an
    attacker who guesses passwords cannot keep them out. The same answer whether or not the username exists.

    Anyone may type a username here, so each attempt takes a slot of its source address's sign-in counter (counted
    and committed before the code is checked, as for a password; a right code gives it back), and a wrong code is
    not counted against the account's own devices (strangers could otherwise lock the owner's authenticator and
    recovery codes). Raises SignInRefused while the address must wait."""
    keys = [throttle.Key(SignInCounter.Kind.ADDRESS, (client_ip or "(no address)")[:254])]
    with transaction.atomic(durable=True):
        wait = throttle.take_slot(keys, timezone.now())
        if wait is not None:
            audit.record(_attempt(username, client_ip), AuditAction.AUTH_SIGN_IN_LOCKED,
                         details={"username": username[:150], "unlock": True, "wait_seconds": wait})
    if wait is not None:
        raise SignInRefused(f"Too many attempts from your network. Try again in {wait} seconds, or ask a clinic "
                            "admin to lift the delay.")
    with transaction.atomic(durable=True):
        user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
        how = (secondfactor.verify(user, code, count_failure=False)
               if user is not None and secondfactor.is_staff_account(user) else "")
        throttle.settle(keys, ok=bool(how))
        if how:
            throttle.clear(throttle.username_key(username))
            audit.record(_actor(user, client_ip), AuditAction.AUTH_SIGN_IN_UNLOCKED, subject=user,
                         details={"kind": "username", "key": username, "by": how})
        else:
            audit.record(_attempt(username, client_ip), AuditAction.AUTH_SECOND_FACTOR_REFUSED,
                         details={"username": username[:150], "unlock": True})
    return bool(how)


def remove_second_factor(*, actor: Actor, username: str) -> tuple[User, int]:
    """A clinic admin removes a staff member's authenticator and recovery codes (a lost phone); the person sets up
    a new one at their next sign-in."""
    with transaction.atomic(durable=True):
        user = User.objects.filter(username__iexact=username.strip(), patient_account__isnull=True).first()
        if user is None or not manages(actor.user, user):
            raise AccountError({"username": "No staff account you manage has that username (a person who also "
                                            "works at a clinic you do not administer is managed by an admin of "
                                            "both)."})
        removed = secondfactor.remove_all(user)
        audit.record(actor, AuditAction.AUTH_SECOND_FACTOR_REMOVED, subject=user, details={"devices": removed})
    return user, removed


# ------------------------------------------------------------------------------------------ passwords
def _new_password(user: User, new1: str, new2: str) -> None:
    if new1 != new2:
        raise AccountError({"new_password2": "The two new passwords do not match."})
    try:
        validate_password(new1, user)
    except ValidationError as e:
        raise AccountError({"new_password1": " ".join(e.messages)}) from None


def _own_password(actor: Actor, user: User, password: str, *, refused: AuditAction, field: str) -> None:
    """Check a signed-in person's own password again (before a change to how they sign in). The check takes a slot
    of the same sign-in throttle as signing in, so a stolen session cannot guess the password faster than the
    sign-in page allows; a refusal is audited as ``refused`` and raised as AccountError on ``field``."""
    keys = throttle.sign_in_keys(user.get_username(), actor.client_ip)
    with transaction.atomic(durable=True):
        wait = throttle.take_slot(keys, timezone.now())
        if wait is not None:
            audit.record(actor, refused, subject=user, details={"reason": "delay", "wait_seconds": wait})
    if wait is not None:
        raise AccountError({field: wait_message(wait)})
    ok = user.check_password(password)
    with transaction.atomic(durable=True):
        throttle.settle(keys, ok=ok)
        if not ok:
            audit.record(actor, refused, subject=user, details={"reason": "wrong password"})
    if not ok:
        raise AccountError({field: "That is not your current password."})


def confirm_own_password(*, actor: Actor, user: User, password: str) -> None:
    """Before a passkey is added: the person at the keyboard proves they know the account's password (a signed-in
    session alone, an unattended workstation, does not add a way to sign in)."""
    _own_password(actor, user, password, refused=AuditAction.AUTH_REAUTHENTICATION_REFUSED, field="password")


def change_password(*, actor: Actor, user: User, old_password: str, new_password1: str, new_password2: str) -> None:
    """Change one's own password. The old-password check takes a slot of the same sign-in throttle as signing in
    (a stolen session cannot guess the password faster than the sign-in page allows)."""
    _own_password(actor, user, old_password, refused=AuditAction.AUTH_PASSWORD_CHANGE_REFUSED, field="old_password")
    with transaction.atomic(durable=True):
        _new_password(user, new_password1, new_password2)
        user.set_password(new_password1)
        user.save(update_fields=["password"])
        audit.record(actor, AuditAction.AUTH_PASSWORD_CHANGED, subject=user)


def request_password_reset(*, email: str, client_ip: str | None, link_for: Callable[[str, str], str]) -> bool:
    """Email a one-time reset link to every active account using ``email``. The caller shows the same answer
    whether or not one exists; returns False only when the request was refused for coming too often (counted per
    address typed and per source address, PASSWORD_RESET_PER_HOUR each). The emails are written in the
    transaction and sent after it commits (a slow mail server does not hold the database's write lock)."""
    email = email.strip()
    keys = [throttle.Key(SignInCounter.Kind.RESET_EMAIL, email.lower()[:254])]
    if client_ip:
        keys.append(throttle.Key(SignInCounter.Kind.RESET_ADDRESS, client_ip))
    attempt = Actor(user=None, client_ip=client_ip, label_override=f"password reset request for {email[:254]!r}")
    with transaction.atomic(durable=True):
        now = timezone.now()
        wait = throttle.take_slot(keys, now)
        if wait is not None:
            audit.record(attempt, AuditAction.AUTH_PASSWORD_RESET_REFUSED,
                         details={"email": email[:254], "reason": "too many requests", "wait_seconds": wait})
            return False
        users = [u for u in User.objects.filter(email__iexact=email, is_active=True) if u.has_usable_password()]
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        outgoing = []
        for user in users:
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            outgoing.append(EmailMessage(
                "KetaClinic password reset",
                f"Someone (we hope you) asked to reset the password of the KetaClinic account {user.username}."
                f"\n\nOpen this link within {minutes} minutes to choose a new password (it works once):\n\n"
                f"{link_for(uid, reset_tokens.make_token(user))}\n\n"
                "If you did not ask for this, ignore this email: your password stays as it is.\n",
                None, [user.email]))
        audit.record(attempt, AuditAction.AUTH_PASSWORD_RESET_REQUESTED,
                     details={"email": email[:254], "accounts": len(users)})
    for message in outgoing:
        message.send()
    return True


def user_for_reset(uidb64: str, token: str) -> User | None:
    """The account a reset link is for, while the link is valid (unused, younger than PASSWORD_RESET_TIMEOUT)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or len(token) > 100 or not reset_tokens.check_token(user, token):
        return None
    return user


def refuse_reset_link(*, client_ip: str | None) -> None:
    """An invalid, used or expired reset link was opened: audited."""
    with transaction.atomic(durable=True):
        audit.record(Actor(user=None, client_ip=client_ip, label_override="password reset link"),
                     AuditAction.AUTH_PASSWORD_RESET_REFUSED, details={"reason": "invalid, used or expired link"})


def reset_password(*, uidb64: str, token: str, new_password1: str, new_password2: str, client_ip: str | None) -> User:
    """Set a new password from a reset link. The link works once (the token covers the password hash) and lifts
    the sign-in delay on the account; it does not sign in, and the second factor is still asked for."""
    with transaction.atomic(durable=True):
        user = user_for_reset(uidb64, token)
        if user is None:
            audit.record(Actor(user=None, client_ip=client_ip, label_override="password reset link"),
                         AuditAction.AUTH_PASSWORD_RESET_REFUSED, details={"reason": "invalid, used or expired link"})
            problem: AccountError | None = AccountError({"__all__": EXPIRED_LINK})
        else:
            user = User.objects.select_for_update().get(pk=user.pk)
            try:
                _new_password(user, new_password1, new_password2)
            except AccountError as e:
                problem = e
            else:
                problem = None
                user.set_password(new_password1)
                user.save(update_fields=["password"])
                throttle.clear(throttle.username_key(user.get_username()))
                audit.record(_actor(user, client_ip), AuditAction.AUTH_PASSWORD_RESET_DONE, subject=user)
    if problem is not None:
        raise problem
    return user


def reset_minutes() -> int:
    return settings.PASSWORD_RESET_TIMEOUT // 60


EXPIRED_LINK = ("This password reset link has expired or has already been used. Ask for a new one; each link works "
                "once, for a short time.")


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


@use_case
def create_staff(*, actor: Actor, username: str, password: str, roles: set[str], first_name: str, last_name: str,
                 credentials: str = "", npi: str = "", dea_number: str = "", licence_number: str = "",
                 licence_state: str = "", email: str = "", is_demo: bool = False, clinic=None) -> User:
    """A staff account holding ``roles`` at ``clinic`` (a Clinic; by default the clinic the request acts for, else
    the install's first)."""
    ids = validate_credentials(npi=npi, dea_number=dea_number, last_name=last_name)
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name, email=email,
        credentials=credentials, licence_number=licence_number, licence_state=licence_state.upper(),
        is_demo=is_demo, is_staff=Role.CLINIC_ADMIN in roles, **ids,  # Django's admin login asks for is_staff
    )
    clinic_id = clinic.pk if clinic is not None else grant_clinic_id()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, clinic_id=clinic_id, role=r) for r in sorted(roles)])
    seals.record(actor, AuditAction.STAFF_CREATED, user, details={"username": username, "roles": sorted(roles)})
    return user


@use_case
def grant_role(*, actor: Actor, user: User, clinic, role: str) -> RoleGrant:
    """``user`` holds ``role`` at ``clinic`` (a Clinic) as well as what they hold already, e.g. at a second clinic of
    the network. Given by a clinic admin of that clinic (or the system: the demo loader); sealed, like every change
    of a person's access, so a grant written into the database instead is named by ``verify_records``."""
    if role not in Role.values:
        raise ClinicalInputError(f"{role!r} is not a role.", field="role")
    if actor.user is not None and (clinic.pk, Role.CLINIC_ADMIN) not in actor.user.grants():
        raise ClinicalInputError("Only a clinic admin of that clinic grants roles there.", field="clinic")
    grant, created = RoleGrant.objects.get_or_create(user=user, clinic_id=clinic.pk, role=role)
    if created:
        user._grant_cache = None
        if role == Role.CLINIC_ADMIN and not user.is_staff:  # Django's admin asks for is_staff (as create_staff)
            User.objects.filter(pk=user.pk).update(is_staff=True)
            user.is_staff = True
        seals.record(actor, AuditAction.STAFF_ROLE_GRANTED, user,
                     details={"username": user.username, "role": role, "clinic": clinic.name})
    return grant
