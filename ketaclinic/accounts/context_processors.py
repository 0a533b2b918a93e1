"""Navigation by role: each entry is shown only to roles that ketaclinic.access allows."""

from __future__ import annotations

import functools

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from ketaclinic.access import rule_for

# (label, url name). Later features append their entries here.
NAVIGATION: list[tuple[str, str]] = [
    ("Today", "clinic:today"),
    ("Patients", "patients:search"),
    ("Consults", "screening:list"),
    ("Calendar", "scheduling:calendar"),
    ("Schedule", "treatments:schedule"),
    ("Integration", "integration:list"),
    ("Reminders", "reminders:worklist"),  # rides home confirmed by text, and messages that did not go
    ("Messages", "messaging:inbox"),  # secure messages with patients
    ("Outcomes", "measures:worklist"),
    ("Custody", "custody:home"),
    ("Billing", "billing:worklist"),
    ("Reports", "reports:home"),  # outcomes, safety, operations, money; the research export
    ("Audit log", "audit:search"),
    ("Break-glass reviews", "patients:break_glass_reviews"),  # records opened outside a care team (compliance)
    ("Patient education", "portal:education"),  # the portal's education pages: write, preview, approve
    ("Clinical limits", "clinic:limits"),
    ("Rooms", "clinic:rooms"),
    ("Clinic settings", "clinic:settings"),
    ("Access policy", "clinic:access_policy"),
    ("Sign-in security", "accounts:sign_in_security"),
    ("FHIR clients", "fhir:clients"),  # the systems that may read the clinic's data over FHIR (clinic admin)
    ("Background work", "ops:status"),  # the task worker, chain checkpoints and backups (clinic admin, compliance)
]


def staff_navigation(request):
    """The header's navigation, roles and clinics, worked out only if the page shows them: an htmx answer (a
    saved vitals row, say) renders a fragment without the header, and building the links for nothing cost a
    twentieth of a vitals save (bench/bench_vitals.py)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    built = functools.cache(lambda: _navigation(request, user))
    return {key: SimpleLazyObject(lambda key=key: built()[key])
            for key in ("nav_items", "user_roles", "work_at", "user_role_labels")}


def _navigation(request, user) -> dict:
    roles = user.role_set()
    items = []
    current = request.resolver_match.view_name if request.resolver_match else ""
    for label, name in NAVIGATION:
        rule = rule_for(name)
        if rule is None or not (rule.roles & roles):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": current == name})
    from ketaclinic.accounts.roles import Role

    return {"nav_items": items, "user_roles": sorted(roles), "work_at": _work_at(user),
            "user_role_labels": [Role(r).label for r in sorted(roles) if r in Role.values]}


def _work_at(user) -> list[dict]:
    """For a person who holds roles at several clinics of the network: each clinic, and which one the page acts
    for (the header's "Work at" form); nothing for everyone else (and no query)."""
    clinics = user.clinic_ids()
    if len(clinics) < 2:
        return []
    from ketaclinic.accounts.models import clinics as all_clinics
    from ketaclinic.acting import acting_clinic_id

    acting = acting_clinic_id()
    return [{"id": pk, "name": name, "current": pk == acting}
            for pk, name in all_clinics().filter(pk__in=clinics).order_by("name", "pk").values_list("pk", "name")]
