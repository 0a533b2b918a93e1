"""Passkeys (WebAuthn) for staff: added by a signed-in staff member, used after the password instead of the
authenticator's code. The ceremonies are the ``webauthn`` library's (Duo Labs' py_webauthn); this module keeps the
challenge in the person's session between the two halves of a ceremony, checks the origin and relying party against
the request's own host (validated by ALLOWED_HOSTS), requires user verification (a PIN, fingerprint or face on the
device), refuses a signature counter that went backwards (a cloned credential), and audits every step.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ketaclinic.accounts.models import Passkey, User
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor

RP_NAME = "KetaClinic"
#: Session keys of the challenge waiting for the second half of a ceremony.
REGISTERING = "kc_passkey_registration"
SIGNING_IN = "kc_passkey_sign_in"


class PasskeyError(Exception):
    pass


def relying_party(request) -> tuple[str, str]:
    """(RP ID, origin): ``WEBAUTHN_RP_ID`` and ``WEBAUTHN_ORIGIN`` when the clinic sets them (production: its one
    address), else the host the person's browser talks to (which ALLOWED_HOSTS checked)."""
    host = request.get_host()
    rp_id = settings.WEBAUTHN_RP_ID or (host.rsplit(":", 1)[0] if not host.endswith("]") else host)
    return rp_id, settings.WEBAUTHN_ORIGIN or f"{request.scheme}://{host}"


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=bytes(p.credential_id)) for p in user.passkeys.all()]


def registration_options(request, user: User) -> str:
    """The options for ``navigator.credentials.create`` (JSON); the challenge waits in the session."""
    rp_id, _origin = relying_party(request)
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_id=str(user.pk).encode(), user_name=user.username,
        user_display_name=user.get_full_name() or user.username, exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED),
    )
    request.session[REGISTERING] = {"user": user.pk, "challenge": bytes_to_base64url(options.challenge)}
    return options_to_json(options)


def _actor(user: User, request) -> Actor:
    return Actor.for_user(user, client_ip=audit.client_ip(request))


def register(request, user: User, *, credential: str, name: str) -> Passkey:
    """Check the browser's answer to :func:`registration_options` and keep the passkey."""
    waiting = request.session.pop(REGISTERING, None)
    if not isinstance(waiting, dict) or waiting.get("user") != user.pk:
        raise PasskeyError("Start adding the passkey again: this page waited too long or was opened twice.")
    rp_id, origin = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(waiting["challenge"]),
            expected_rp_id=rp_id, expected_origin=origin, require_user_verification=True)
        transports = json.loads(credential).get("response", {}).get("transports", [])
    except (WebAuthnException, ValueError, TypeError, AttributeError):
        raise PasskeyError("The device's answer could not be checked; nothing was added. Try again.") from None
    with transaction.atomic(durable=True):
        if Passkey.objects.filter(credential_id=verified.credential_id).exists():
            raise PasskeyError("This passkey is already registered.")
        passkey = Passkey.objects.create(
            user=user, name=name.strip() or "Passkey", credential_id=verified.credential_id,
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=[t for t in transports if isinstance(t, str)][:8],
            backed_up=bool(verified.credential_backed_up))
        audit.record(_actor(user, request), AuditAction.AUTH_PASSKEY_ADDED, subject=user,
                     details={"name": passkey.name, "backed_up": passkey.backed_up})
    return passkey


def remove(request, actor: Actor, passkey: Passkey) -> None:
    with transaction.atomic(durable=True):
        Passkey.objects.filter(pk=passkey.pk).delete()
        audit.record(actor, AuditAction.AUTH_PASSKEY_REMOVED, subject=passkey.user, details={"name": passkey.name})


def sign_in_options(request, user: User) -> str:
    """The options for ``navigator.credentials.get`` for ``user``'s passkeys (after the password)."""
    rp_id, _origin = relying_party(request)
    options = generate_authentication_options(rp_id=rp_id, allow_credentials=_descriptors(user),
                                              user_verification=UserVerificationRequirement.REQUIRED)
    request.session[SIGNING_IN] = {"user": user.pk, "challenge": bytes_to_base64url(options.challenge)}
    return options_to_json(options)


def verify_sign_in(request, user: User, *, credential: str) -> Passkey:
    """Check the browser's answer to :func:`sign_in_options`: one of ``user``'s own passkeys, its signature over this
    challenge, user verification, and a counter that moved forward. Audited either way."""
    waiting = request.session.pop(SIGNING_IN, None)
    problem = "The passkey could not be checked. Try again, or type the code from your authenticator app."
    passkey = None
    try:
        if not isinstance(waiting, dict) or waiting.get("user") != user.pk:
            raise PasskeyError("Start again: use the passkey button once more.")
        raw_id = base64url_to_bytes(json.loads(credential)["rawId"])
        passkey = user.passkeys.filter(credential_id=raw_id).first()
        if passkey is None:
            raise PasskeyError("That passkey is not one of yours in this clinic.")
        rp_id, origin = relying_party(request)
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(waiting["challenge"]),
            expected_rp_id=rp_id, expected_origin=origin, credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=True)
    except PasskeyError as e:
        _refused(request, user, str(e))
        raise
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        _refused(request, user, "signature, challenge, origin or counter did not check")
        raise PasskeyError(problem) from None
    with transaction.atomic(durable=True):
        # compare and set: of two answers racing with the same counter, one signs in
        moved = Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
            sign_count=verified.new_sign_count, last_used_at=timezone.now())
        if not moved:
            raise PasskeyError(problem)
        audit.record(_actor(user, request), AuditAction.AUTH_SIGN_IN, subject=user,
                     details={"second_factor": "passkey", "passkey": passkey.name})
    return passkey


def _refused(request, user: User, reason: str) -> None:
    with transaction.atomic(durable=True):
        audit.record(_actor(user, request), AuditAction.AUTH_SECOND_FACTOR_REFUSED, subject=user,
                     details={"passkey": True, "reason": reason})
