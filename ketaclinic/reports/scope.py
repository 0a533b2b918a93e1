"""Whose records a report counts: one clinic (its own report), or several clinics of a network pooled into one
set of figures (the network page).

Clinics pool only when they count alike: the same time zone (a report's days are clinic-local days, and a week or
a date range must mean the same moments for every clinic counted in it) and the same clinical settings (the rules
a figure applies, such as what counts as a response, or when a suicidality task is late). ``pools`` puts a
network's clinics in such groups; a network whose clinics share both is one pool. A report builds its figures over
a scope exactly as it builds one clinic's: the same statements, with the clinic condition naming every clinic of
the scope, and the clinic's own calendar (booking hours, working days, closed days, chairs) summed clinic by clinic.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q

from ketaclinic.clinic.models import Clinic, current_clinic


@dataclass(frozen=True)
class Scope:
    clinics: tuple[Clinic, ...]

    def __post_init__(self):
        if not self.clinics:
            raise ValueError("A report counts the records of at least one clinic.")
        first = self.clinics[0]
        if any(c.time_zone != first.time_zone or c.limits() != first.limits() for c in self.clinics[1:]):
            raise ValueError("Clinics pool into one report only when they share a time zone and clinical settings.")

    @classmethod
    def current(cls) -> Scope:
        """The clinic the request acts for, alone (a clinic's own report)."""
        return cls((current_clinic(),))

    @property
    def ids(self) -> list[int]:
        return [c.pk for c in self.clinics]

    @property
    def pooled(self) -> bool:
        return len(self.clinics) > 1

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.clinics[0].tz

    @property
    def time_zone(self) -> str:
        return self.clinics[0].time_zone

    def limits(self) -> dict[str, object]:
        return self.clinics[0].limits()

    def q(self, path: str) -> Q:
        """The condition that the record at ``path`` (a clinic or a clinic's id, e.g. "patient__clinic_id") is one
        of the scope's clinics: ``= id`` for one clinic, as its own report always wrote it, ``IN (...)`` for a pool."""
        if not self.pooled:
            return Q(**{path: self.ids[0]})
        return Q(**{f"{path}__in": self.ids})

    def sql_in(self, column: str) -> tuple[str, list[int]]:
        """The same condition for a statement written by hand: ``column = %s`` or ``column IN (%s, ...)``."""
        if not self.pooled:
            return f"{column} = %s", self.ids
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", self.ids

    def names(self) -> str:
        return ", ".join(c.name for c in self.clinics)


def pools(clinics: Iterable[Clinic]) -> list[Scope]:
    """``clinics`` in groups that count alike (same time zone and clinical settings), in the order their first
    clinic comes in; each clinic keeps its place within its group."""
    groups: list[list[Clinic]] = []
    for clinic in clinics:
        for group in groups:
            if group[0].time_zone == clinic.time_zone and group[0].limits() == clinic.limits():
                group.append(clinic)
                break
        else:
            groups.append([clinic])
    return [Scope(tuple(g)) for g in groups]


def differences(scopes: Sequence[Scope]) -> list[str]:
    """What sets each pool apart from the first: its time zone and the settings whose values differ, for the page
    to say why the network's clinics are not pooled into one set of figures."""
    if len(scopes) < 2:
        return []
    first = scopes[0]
    out = []
    for other in scopes[1:]:
        parts = []
        if other.time_zone != first.time_zone:
            parts.append(f"time zone {other.time_zone} (not {first.time_zone})")
        a, b = first.limits(), other.limits()
        parts += [f"{key} = {b.get(key)} (not {a.get(key)})" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
        out.append(f"{other.names()}: {'; '.join(parts)}")
    return out
