"""What every mapper shares: resource ids, references, instants.

Ids. A record with a public id (``PublicId.external_id``) is known by it. Records without one are known by their
parent's public id, a tag and their place among the parent's records of that kind, counted from 1 in the order they
were written (``pk`` order; these records are append-only or never deleted, so the place never changes):
``<session uuid>-v3-hr`` is the heart rate of the third vital-signs reading of that treatment session. The registry
annotates each such row with ``fhir_n`` (its place) so no mapper counts.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Subquery

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def instant(value: datetime | None) -> str | None:
    """An aware datetime as FHIR ``dateTime``/``instant`` (seconds, with its offset)."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat()


def ref(resource_type: str, resource_id, display: str | None = None) -> dict:
    out = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        out["display"] = display
    return out


def patient_ref(patient) -> dict:
    return ref("Patient", patient.external_id, patient.legal_name)


def practitioner_ref(user) -> dict | None:
    if user is None:
        return None
    return ref("Practitioner", user.external_id, user.label)


def place(model, parent_field: str):
    """An annotation giving each row its place (1, 2, …) among its parent's rows of ``model`` in ``pk`` order."""
    same_parent = (model.objects.filter(**{parent_field: OuterRef(parent_field)}, pk__lte=OuterRef("pk"))
                   .order_by().values(parent_field).annotate(n=Count("pk")).values("n"))
    return Subquery(same_parent, output_field=IntegerField())


def child_id(parent_uuid, tag: str, n: int, suffix: str | None = None) -> str:
    out = f"{parent_uuid}-{tag}{n}"
    return f"{out}-{suffix}" if suffix else out


CHILD_RE = re.compile(r"^(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                      r"(?:-(?P<tag>[a-z]+)(?P<n>[0-9]+)?(?:-(?P<suffix>[a-z0-9.]+))?)?$")


def parse_id(resource_id: str):
    """(parent uuid, tag, n, suffix) of one of our ids, or None when it is not one."""
    m = CHILD_RE.match(resource_id or "")
    if not m:
        return None
    n = m.group("n")
    if n and len(n) > 9:  # no parent has a billion records of one kind: not one of ours (and no SQL overflow)
        return None
    return m.group("uuid"), m.group("tag"), int(n) if n else None, m.group("suffix")


def nth(queryset, n: int | None):
    """The n-th row (from 1) of a pk-ordered queryset, or None."""
    if not n or n < 1 or n > 999_999_999:
        return None
    return queryset.order_by("pk")[n - 1:n].first()
