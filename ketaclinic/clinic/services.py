"""Clinic settings use cases: identity, clinical limits, rooms and chairs. All audited."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping

from django.db import transaction

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Clinic, Room
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import check_dea_number
from ketaclinic.clinical.settings import SETTINGS, defaults, validate_settings
from ketaclinic.inputs import ascii_digits
from ketaclinic.usecases import use_case

CLINIC_FIELDS = ("name", "address_line1", "address_line2", "city", "state", "postal_code", "phone", "time_zone",
                 "dea_registration", "crisis_line", "working_weekdays")


class ClinicSettingsError(ValueError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@use_case
def open_clinic(*, actor: Actor, name: str, time_zone: str, dea_registration: str, admin) -> Clinic:
    """Another clinic (location) of the network in this install, with its own DEA registration (its controlled
    substances are held under it), and ``admin`` (an existing staff account) as its first clinic admin, who then
    sets the rest on its Clinic settings page and grants its staff their roles there."""
    from ketaclinic.accounts.services import grant_role

    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name the clinic."
    elif Clinic.objects.filter(name__iexact=name.strip()).exists():
        errors["name"] = f"A clinic named {name.strip()!r} exists already."
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = f"{time_zone!r} is not a time zone name (e.g. America/Denver)."
    dea = dea_registration.upper().replace(" ", "")
    if not (result := check_dea_number(dea)).valid:
        errors["dea_registration"] = "; ".join(result.problems)
    elif Clinic.objects.filter(dea_registration=dea).exists():
        errors["dea_registration"] = "Another clinic holds this DEA registration: each location has its own."
    if errors:
        raise ClinicSettingsError(errors)
    clinic = Clinic.objects.create(name=name.strip(), time_zone=time_zone, dea_registration=dea)
    audit.record(actor, AuditAction.CLINIC_OPENED, subject=clinic,
                 details={"name": clinic.name, "dea_registration": dea, "admin": admin.username})
    grant_role.within(actor=actor, user=admin, clinic=clinic, role="clinic_admin")
    return clinic


class SwitchError(ValueError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


@use_case
def switch_clinic(*, actor: Actor, clinic: Clinic) -> Clinic:
    """The person works at ``clinic`` from their next request (the view keeps the choice in their session): only a
    clinic where they hold a role. Audited, so the trail says at which clinic each person worked when."""
    if actor.user is None or clinic.pk not in actor.user.clinic_ids():
        raise SwitchError({"clinic": "You hold no role at that clinic."})
    audit.record(actor, AuditAction.CLINIC_SWITCHED, subject=clinic, details={"clinic": clinic.name})
    return clinic


@use_case
def update_clinic(*, actor: Actor, clinic: Clinic, data: Mapping[str, str]) -> Clinic:
    new = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if k in CLINIC_FIELDS}
    errors: dict[str, str] = {}
    if "time_zone" in new:
        try:
            zoneinfo.ZoneInfo(new["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = f"{new['time_zone']!r} is not a time zone name (e.g. America/Denver)."
    if new.get("dea_registration"):
        result = check_dea_number(new["dea_registration"])
        if not result.valid:
            errors["dea_registration"] = "; ".join(result.problems)
        else:
            new["dea_registration"] = new["dea_registration"].upper().replace(" ", "")
            if Clinic.objects.filter(dea_registration=new["dea_registration"]).exclude(pk=clinic.pk).exists():
                errors["dea_registration"] = "Another clinic of the network holds this DEA registration: each " \
                                             "location has its own."
    if "working_weekdays" in new:
        days = [d.strip() for d in str(new["working_weekdays"]).split(",") if d.strip()]
        if not days or any(not ascii_digits(d) or not 0 <= int(d) <= 6 for d in days):  # "²".isdigit() is True
            errors["working_weekdays"] = "List the working days as numbers 0 (Monday) to 6 (Sunday), comma-separated."
        else:
            new["working_weekdays"] = ",".join(sorted(set(days)))
    if errors:
        raise ClinicSettingsError(errors)
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    diff = audit.changes(clinic, new)
    for k, v in new.items():
        setattr(clinic, k, v)
    clinic.save()
    if diff:
        audit.record(actor, AuditAction.CLINIC_UPDATED, subject=clinic, details={"changes": diff})
    if "time_zone" in diff:
        from ketaclinic.clinic.middleware import forget_time_zone

        transaction.on_commit(forget_time_zone)
    return clinic


@use_case
def update_limits(*, actor: Actor, clinic: Clinic, values: Mapping[str, object]) -> dict[str, object]:
    """Set clinical thresholds. Values equal to the core's default are not stored (the default applies)."""
    try:
        effective = validate_settings(values)
    except ClinicalInputError as e:
        raise ClinicSettingsError({e.field or "__all__": str(e)}) from e
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    before = validate_settings(clinic.clinical_settings)
    base = defaults()
    clinic.clinical_settings = {k: v for k, v in effective.items() if base.get(k) != v}
    clinic.save(update_fields=["clinical_settings"])
    diff = {k: {"old": before[k], "new": effective[k]} for k in effective if before.get(k) != effective[k]}
    if diff:
        audit.record(actor, AuditAction.CLINIC_LIMITS_UPDATED, subject=clinic, details={"changes": diff})
    return effective


def limits_table(clinic: Clinic) -> list[dict[str, object]]:
    current = clinic.limits()
    rows = []
    for spec in SETTINGS:
        rows.append({"spec": spec, "value": current[spec.key], "is_default": current[spec.key] == spec.default})
    return rows


@use_case
def add_room(*, actor: Actor, clinic: Clinic, name: str, kind: str, chairs: int) -> Room:
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Give the room a name."
    elif Room.objects.filter(clinic=clinic, name__iexact=name).exists():
        errors["name"] = f"There is already a room called {name}."
    if kind not in Room.Kind.values:
        errors["kind"] = "Choose the kind of room."
    if not 0 <= chairs <= 20:
        errors["chairs"] = "A room has between 0 and 20 chairs."
    if errors:
        raise ClinicSettingsError(errors)
    room = Room.objects.create(clinic=clinic, name=name, kind=kind)
    Chair.objects.bulk_create([Chair(room=room, label=f"Chair {i}") for i in range(1, chairs + 1)])
    audit.record(actor, AuditAction.CLINIC_ROOM_ADDED, subject=room, details={"name": name, "kind": kind, "chairs": chairs})
    return room
