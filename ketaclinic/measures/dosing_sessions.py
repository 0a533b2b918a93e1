"""Dosing sessions as measurement-based care needs them, provided by the app that owns them.

Measures sits below treatments in the layers (treatments imports screening, which imports measures), yet due
items (before a session, 24 hours and 7 days after), the end of induction behind booster prompts, the dosing
overlay of a trajectory and the session chooser on the staff scale page all follow the patient's sessions. So
measures states here what it needs, and the treatments app registers a provider in its ``AppConfig.ready()``
(``ketaclinic/treatments/providers.py``). Measures never imports treatments.

A session is the provider's object (a ``treatments.TreatmentSession``); measures reads only ``pk``,
``external_id``, ``order_id``, ``sequence``, ``drug``, ``status``, ``scheduled_start``, ``dose_started_at``,
``dose_ended_at``, ``discharged_at``, ``transferred_at`` and ``administered_mg``, and stores it in its own
``session`` foreign keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

#: A dosing session, as the provider returns it (a ``treatments.TreatmentSession``).
Session = Any

#: What places a session in the patient's course (when it was dosed, of which order, in what state): enough for
#: ``is_upcoming``, ``is_called_off`` and ``dose_given``, for reading many sessions without their other columns.
TIMELINE = ("order_id", "status", "scheduled_start", "dose_started_at", "dose_ended_at", "discharged_at",
            "transferred_at")


class SessionProvider(Protocol):
    def scheduled_since(self, patient, since: datetime) -> QuerySet:
        """Every session of the patient (whatever its status) scheduled at or after ``since``."""

    def not_called_off(self, patient) -> QuerySet:
        """The patient's sessions, less those cancelled or missed (no-show)."""

    def first_order_id(self, patient) -> int | None:
        """The patient's first treatment order (by creation) that is neither a draft nor entered in error."""

    def is_upcoming(self, session: Session) -> bool:
        """Booked, checked in or in pre-checks: the patient is still to be dosed in it."""

    def is_called_off(self, session: Session) -> bool:
        """Cancelled or missed (no-show)."""

    def dose_given(self, session: Session) -> bool:
        """A dose was given and the dosing is over (the end recorded, or discharged, or transferred to
        emergency care)."""


_provider: SessionProvider | None = None


def register(provider: SessionProvider) -> None:
    global _provider
    _provider = provider


def provider() -> SessionProvider:
    if _provider is None:
        raise ImproperlyConfigured("No dosing-session provider is registered: the treatments app registers one "
                                   "in TreatmentsConfig.ready().")
    return _provider


def scheduled_since(patient, since: datetime) -> QuerySet:
    return provider().scheduled_since(patient, since)


def not_called_off(patient) -> QuerySet:
    return provider().not_called_off(patient)


def first_order_id(patient) -> int | None:
    return provider().first_order_id(patient)


def is_upcoming(session: Session) -> bool:
    return provider().is_upcoming(session)


def is_called_off(session: Session) -> bool:
    return provider().is_called_off(session)


def dose_given(session: Session) -> bool:
    return provider().dose_given(session)
