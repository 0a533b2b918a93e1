"""The clinic a request acts for (``ketaclinic.acting``), and every time shown in that clinic's own time zone."""

from __future__ import annotations

import time
import zoneinfo

from django.utils import timezone

from ketaclinic.acting import PATIENT_SESSION_KEY, SESSION_KEY, acting_at, acting_clinic_id

_cache: dict[int | None, tuple[zoneinfo.ZoneInfo, float]] = {}
_TTL_SECONDS = 60.0


def clinic_time_zone() -> zoneinfo.ZoneInfo:
    """The time zone of the clinic the request acts for (outside a request, the install's first clinic), cached
    for a minute per process and clinic (it changes rarely; saving settings clears it)."""
    acting = acting_clinic_id()
    now = time.monotonic()
    cached = _cache.get(acting)
    if cached is None or now - cached[1] > _TTL_SECONDS:
        from ketaclinic.clinic.models import Clinic

        clinics = Clinic.objects.filter(pk=acting) if acting is not None else Clinic.objects.order_by("pk")
        name = clinics.values_list("time_zone", flat=True).first()
        try:
            tz = zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = timezone.get_default_timezone()
        cached = _cache[acting] = (tz, now)
    return cached[0]


def forget_time_zone() -> None:
    _cache.clear()


def acting_clinic_of(request) -> int | None:
    """The clinic ``request`` acts for: the one its person chose (``clinic:switch``) if they hold a role there,
    else the first they hold a role at; a portal patient's own clinic; nobody's (None) for a visitor."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    own = request.session.get(PATIENT_SESSION_KEY)
    if own is not None:
        return own  # a portal patient's clinic, set by the server when they signed in (portal/apps.py)
    clinics = user.clinic_ids()  # the person's grants, read once: their roles come from the same read
    if clinics:
        chosen = request.session.get(SESSION_KEY)
        return chosen if chosen in clinics else min(clinics)
    account = getattr(user, "patient_account", None)  # a portal session from before sign-in set it
    if account is None:
        return None
    request.session[PATIENT_SESSION_KEY] = clinic = account.patient.clinic_id
    return clinic


class ActingClinicMiddleware:
    """Each request acts for one clinic of the network, worked out when first asked (most requests ask while the
    access policy reads the person's roles, from the same read of their grants)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_at(lambda: acting_clinic_of(request)):
            return self.get_response(request)


class ClinicTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(clinic_time_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
