"""Field groups that many of the clinic's records share, each defined once (abstract models).

A record that says who recorded it and when, who created it, who signed it, who resolved it and why, or that has
a public id, takes the group from here instead of declaring the same fields again, so the same thing has one
definition everywhere: the same field types, the same protection of the people it names (``PROTECT``: a person
named on a record is never deleted from under it), the same defaults. The groups decide nothing clinical and
import no app, so every app may use them.

Fields of a group come first in the model's field list; what is stored is unchanged (the migrations of each app
create exactly these columns). A group that orders its records (``Recorded``, ``ByAt``, ``Created``) gives a model
without its own ``Meta`` that order when it comes first among the model's bases (Django takes the first base's
``Meta``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

USER = settings.AUTH_USER_MODEL


def person(**kwargs) -> models.ForeignKey:
    """A person named on a record (who recorded, created, signed it; a staff member, or a patient in the portal):
    their account is never deleted from under the record, and the user gets no reverse accessor."""
    return models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", **kwargs)


class PublicId(models.Model):
    """The id a record is known by in URLs and to other systems; the database key is never shown."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class Recorded(models.Model):
    """A clinical entry: who recorded it and when it was saved. Listed in the order it was recorded."""

    recorded_by = person()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["recorded_at", "pk"]


class ByAt(models.Model):
    """A step on a record's history (an event, an override, an acknowledgement, an addendum): who took it and
    when. Listed in the order they happened."""

    at = models.DateTimeField(default=timezone.now)
    by = person()

    class Meta:
        abstract = True
        ordering = ["at", "pk"]


class Created(models.Model):
    """Who created the record and when. Listed newest first."""

    created_by = person()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class Signed(models.Model):
    """A signature still to come: who signed the record and when (both empty until it is signed)."""

    signed_by = person(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Resolved(models.Model):
    """An open item someone closes with a reason: who resolved it, when, and why (empty while it is open)."""

    resolved_by = person(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        abstract = True


class EnteredInError(models.Model):
    """A record that is never deleted: a mistake is marked entered-in-error with the reason, and stays on the record
    (its ``status`` has the ``"entered-in-error"`` choice)."""

    ENTERED_IN_ERROR = "entered-in-error"

    error_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True

    @property
    def is_entered_in_error(self) -> bool:
        return self.status == self.ENTERED_IN_ERROR

    def mark_entered_in_error(self, reason: str, *also: str) -> str:
        """Mark the record entered-in-error for ``reason`` and save that (and the fields named in ``also``).
        Returns the status it had. Call it on a row locked for the change."""
        old = self.status
        self.status = self.ENTERED_IN_ERROR
        self.error_reason = reason
        self.save(update_fields=["status", "error_reason", *also])
        return old


class PostalAddress(models.Model):
    """A US postal address, every part optional."""

    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)

    class Meta:
        abstract = True


class ScaleScore(models.Model):
    """A rating scale as entered (item id → answer) and the clinical core's score of it: total, band and
    flags."""

    answers = models.JSONField(default=dict)
    total = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=80, blank=True)
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True
