"""Show every time in the clinic's own time zone."""

from __future__ import annotations

import time
import zoneinfo

from django.utils import timezone

_cache: dict[str, object] = {"tz": None, "at": 0.0}
_TTL_SECONDS = 60.0


def clinic_time_zone() -> zoneinfo.ZoneInfo:
    """The clinic's time zone, cached for a minute per process (it changes rarely; saving settings clears it)."""
    now = time.monotonic()
    if _cache["tz"] is None or now - float(_cache["at"]) > _TTL_SECONDS:
        from ketaclinic.clinic.models import Clinic

        name = Clinic.objects.order_by("pk").values_list("time_zone", flat=True).first()
        try:
            _cache["tz"] = zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            _cache["tz"] = timezone.get_default_timezone()
        _cache["at"] = now
    return _cache["tz"]  # type: ignore[return-value]


def forget_time_zone() -> None:
    _cache["tz"] = None


class ClinicTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(clinic_time_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
