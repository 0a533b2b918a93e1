"""The staff second factor: a TOTP authenticator (django-otp's ``TOTPDevice``) and one-time recovery codes
(django-otp's ``StaticDevice``, whose tokens hold only a hash of each code: the codes are shown once).

Who must use one: prescribers, compliance leads and clinic admins (``KETACLINIC_2FA_REQUIRED_ROLES``), and every
staff member when ``KETACLINIC_REQUIRE_2FA_FOR_ALL`` is on. Anyone who enrolled uses it. Patients have the portal's
own emailed code instead (``portal/services.py``).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def is_staff_account(user) -> bool:
    return not hasattr(user, "patient_account")


def required_for(user) -> bool:
    """Whether ``user`` may not sign in without a second factor."""
    if not is_staff_account(user):
        return False
    if user.is_demo and settings.KETACLINIC_2FA_EXEMPT_DEMO_ACCOUNTS:
        return False
    return bool(settings.KETACLINIC_REQUIRE_2FA_FOR_ALL or user.has_role(*settings.KETACLINIC_2FA_REQUIRED_ROLES))


def authenticator(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def next_step(user) -> str:
    """After a correct password: "verify" (type the code), "enrol" (set one up first) or "" (signed in)."""
    if is_staff_account(user) and (authenticator(user) is not None or user.passkeys.exists()):
        return "verify"
    return "enrol" if required_for(user) else ""


def pending_device(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up (made on first call, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as people type it into an authenticator app: base32 in groups of four."""
    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG (no image library, no external request)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=12)
    return image.to_string(encoding="unicode")


def clean_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def recovery_hash(code: str) -> str:
    """What is stored of a recovery code: 64 bits of its SHA-256 (the code carries 80 random bits, so the stored
    value does not give it back). Fits django-otp's 16-character token column."""
    return hashlib.sha256(f"ketaclinic-recovery:{clean_code(code)}".encode()).hexdigest()[:16]


def issue_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODES new ones; the codes are returned to be shown once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 16 characters, 80 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    StaticToken.objects.bulk_create([StaticToken(device=device, token=recovery_hash(c)) for c in codes])
    return codes


def wait_seconds(device) -> int:
    """How long ``device`` still refuses every code after wrong ones in a row (django-otp doubles the wait per
    failure); 0 when it takes a code now. A right code typed during the wait is refused too, so the person must be
    told to wait, not that the code is wrong."""
    if device is None:
        return 0
    allowed, data = device.verify_is_allowed()
    if allowed or not data or "locked_until" not in data:
        return 0
    return max(1, math.ceil((data["locked_until"] - timezone.now()).total_seconds()))


def wait_for(user, code: str) -> int:
    """:func:`wait_seconds` of the device ``code`` would be checked by (the authenticator for 6 digits, the recovery
    codes for a recovery code)."""
    code = clean_code(code)
    if re.fullmatch(r"[0-9]{6}", code):
        return wait_seconds(authenticator(user))
    if re.fullmatch(r"[a-z2-7]{16}", code):
        return wait_seconds(StaticDevice.objects.filter(user=user, confirmed=True).first())
    return 0


def wait_message(seconds: int) -> str:
    return (f"Too many wrong codes in a row: wait {seconds} second{'s' if seconds != 1 else ''}, then type the code "
            "the app shows at that moment.")


def verify(user, code: str, *, count_failure: bool = True) -> str:
    """Check a 6-digit authenticator code or a recovery code; returns how ("authenticator", "recovery code") or
    "" when neither matched. Each device throttles its own failures (django-otp: the wait doubles per failure).

    ``count_failure=False`` (the public unlock page, where anyone may type a username): a wrong code leaves the
    device's throttle as it was, so strangers cannot lock the owner's authenticator; that page is rate limited per
    source address instead. A device already waiting still refuses, and a right code still works once."""
    code = clean_code(code)
    if re.fullmatch(r"[0-9]{6}", code):
        how, device, token = "authenticator", authenticator(user), code
    elif re.fullmatch(r"[a-z2-7]{16}", code):
        how, device = "recovery code", StaticDevice.objects.filter(user=user, confirmed=True).first()
        token = recovery_hash(code)
    else:
        return ""
    if device is None:
        return ""
    if count_failure:
        return how if device.verify_token(token) else ""
    # Locked for the caller's transaction, so a failure counted meanwhile by a sign-in is not written over.
    device = type(device).objects.select_for_update().get(pk=device.pk)
    before = {"throttling_failure_count": device.throttling_failure_count,
              "throttling_failure_timestamp": device.throttling_failure_timestamp}
    if device.verify_token(token):
        return how
    type(device).objects.filter(pk=device.pk).update(**before)
    return ""


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def remove_all(user) -> int:
    """Remove the user's authenticator, recovery codes and passkeys (a lost phone or laptop): they set up a second
    factor again at their next sign-in."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += user.passkeys.all().delete()[0]
    return removed + StaticDevice.objects.filter(user=user).delete()[0]
