"""The clinic itself: identity, DEA registration, rooms and chairs, and its clinical limits."""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.db import models
from django.utils import timezone

from ketaclinic.acting import acting_clinic_id
from ketaclinic.modelparts import PostalAddress, PublicId, person


class Clinic(PublicId, PostalAddress):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    dea_registration = models.CharField("DEA registration", max_length=20, blank=True)
    crisis_line = models.CharField(max_length=80, default="988 Suicide & Crisis Lifeline (call or text 988)")
    # Clinic-configurable clinical thresholds, keyed by ketaclinic.clinical.settings.SETTINGS keys.
    # Only values that differ from the core's defaults are stored.
    clinical_settings = models.JSONField(default=dict, blank=True)
    working_weekdays = models.CharField(
        max_length=20, default="0,1,2,3,4", help_text="Days the clinic doses: 0=Monday … 6=Sunday, comma-separated"
    )
    is_demo = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, f"{self.city}, {self.state} {self.postal_code}".strip(", ")]
        return ", ".join(p for p in parts if p and p.strip())

    def limits(self) -> dict[str, object]:
        """The effective clinical settings: the core's defaults overlaid with this clinic's values."""
        from ketaclinic.clinical.settings import validate_settings

        return validate_settings(self.clinical_settings)

    def weekdays(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.working_weekdays.split(",") if d.strip())

    def closed_on(self, day: date) -> str:
        """Why the clinic is closed on ``day`` ("" when it is open), read under the day's lock (:func:`lock_days`):
        a booking use case asks this, so a booking on ``day`` and a closure of it never both succeed."""
        lock_days(self.pk, day)
        return self.closed_days(day, day).get(day, "")

    def closed_days(self, first: date, last: date) -> dict[date, str]:
        """The days from ``first`` to ``last`` (both included) the clinic is closed on though they are working
        weekdays (:class:`ClosedDay`), with why: one query."""
        return dict(ClosedDay.objects.filter(clinic=self, day__range=(first, last)).values_list("day", "reason"))


def lock_days(clinic_id: int, *days: date) -> None:
    """Take, until the transaction ends, the lock of each of the clinic's ``days`` (in date order, so two callers
    never wait on each other crosswise): a booking on a day and a closure of that day queue on it, and the second
    reads what the first committed. PostgreSQL: a transaction-scoped advisory lock on (clinic, day), which locks no
    row; SQLite lets one writer at a time already."""
    _advisory_locks("SELECT pg_advisory_xact_lock(%s, %s)", [[clinic_id, day.toordinal()] for day in sorted(set(days))])


def lock_person_days(user_id: int, *days: date) -> None:
    """Take, until the transaction ends, the lock of a person's ``days`` across every clinic of the network: two
    clinics booking one clinician on one day queue on it, so the second sees the first's booking (each clinic's
    own day lock, :func:`lock_days`, serialises only that clinic's bookings). PostgreSQL: a transaction-scoped
    advisory lock on one 64-bit key (person, day), a key space apart from the two-key one of clinic days; SQLite
    lets one writer at a time already. Taken after the clinic's day lock, always, so no two callers wait crosswise."""
    _advisory_locks("SELECT pg_advisory_xact_lock(%s)", [[(user_id << 32) | day.toordinal()] for day in sorted(set(days))])


def _advisory_locks(sql: str, keys: list[list[int]]) -> None:
    """Take each transaction-scoped advisory lock ``sql`` of ``keys``, in their order, on PostgreSQL inside a
    transaction. Outside one (a read-only preview: the order page's series check) a lock would end with its own
    statement, so nothing is taken; SQLite lets one writer at a time already."""
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cur:
        for key in keys:
            cur.execute(sql, key)


class ClosedDay(models.Model):
    """A working weekday the clinic is closed (a holiday, a training day, a move): nothing is booked on it, in the
    calendar, the portal or a treatment series, and the operations report does not count its chairs as open.
    Set by the clinic admin (``scheduling.closures``); re-opening a day deletes its row, audited."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    reason = models.CharField(max_length=120)
    added_by = person()
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["clinic", "day"], name="closed_day_once")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.reason}"


class Room(models.Model):
    class Kind(models.TextChoices):
        INFUSION = "infusion", "Infusion room"
        INTRANASAL = "intranasal", "Spravato / intranasal room"
        CONSULT = "consult", "Consult room"
        THERAPY = "therapy", "Integration / therapy room"
        RECOVERY = "recovery", "Recovery area"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="unique_room_name")]

    def __str__(self) -> str:
        return self.name


class Chair(models.Model):
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="chairs")
    label = models.CharField(max_length=40)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["room__name", "label"]
        constraints = [models.UniqueConstraint(fields=["room", "label"], name="unique_chair_label")]

    def __str__(self) -> str:
        return f"{self.room.name} · {self.label}"


def current_clinic() -> Clinic:
    """The clinic the request acts for (``ketaclinic.acting``: one clinic of the network, chosen in the header or
    the portal patient's own); outside a request, the install's first clinic. Before one is created, the primary
    is asked too: a replica that has not caught up (inside ``on_replica``) must never make it create a second."""
    from django.db import DEFAULT_DB_ALIAS

    acting = acting_clinic_id()
    if acting is not None:
        return Clinic.objects.get(pk=acting)
    clinic = Clinic.objects.order_by("pk").first() or Clinic.objects.using(DEFAULT_DB_ALIAS).order_by("pk").first()
    if clinic is None:
        clinic = Clinic.objects.create(name="Unnamed clinic")
    return clinic


def current_clinic_id() -> int:
    """The primary key of :func:`current_clinic`: within a request, without reading the clinic's row."""
    acting = acting_clinic_id()
    return acting if acting is not None else current_clinic().pk


class Counter(models.Model):
    """A named, gap-free counter (MRNs, invoice numbers). Incremented under a row lock."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def next_number(name: str, count: int = 1) -> int:
    """Reserve ``count`` numbers; return the first. Call inside a transaction."""
    Counter.objects.get_or_create(name=name)
    counter = Counter.objects.select_for_update().get(name=name)
    first = counter.value + 1
    Counter.objects.filter(pk=counter.pk).update(value=counter.value + count)
    return first
