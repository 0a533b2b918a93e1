"""Counting password checks so that parallel requests cannot get more guesses than the limit.

Each password check takes a *slot* first: in one write transaction the counters of the username and of the source
address are locked (``select_for_update``: a row lock on PostgreSQL; on SQLite the transaction is IMMEDIATE, so it
holds the database's write lock), refused if either is blocked, else counted (``failures + 1``) before the password
is compared. Thirty simultaneous requests therefore take slots one after another: the first ``limit`` are counted and
checked, the counter's block starts with the ``limit``-th slot, and the rest are refused without a check. A correct
password gives its slot back (:func:`settle`).

Refusal is a delay, never a permanent lock (an attacker could otherwise keep a named clinician out): after the
limit, one check is allowed per delay, the delay doubling from ``LOGIN_DELAY_SECONDS`` to ``LOGIN_LOCKOUT_MINUTES``.
A clinic admin (or the clinician's own second factor) lifts it (:func:`clear`). Failures are forgotten
``LOGIN_FAILURE_WINDOW_MINUTES`` after the last one.

Password reset requests (the ``reset_*`` kinds) are capped, not delayed: the ``PASSWORD_RESET_PER_HOUR``-th request
starts an hour's wait, so no hour ever holds more than that many requests (a doubling delay would let through a
dozen an hour).

The functions here run inside the caller's transaction (the use cases in ``accounts/services.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from ketaclinic.accounts.models import SignInCounter

Kind = SignInCounter.Kind


@dataclass(frozen=True)
class Key:
    kind: str
    key: str

    @property
    def limit(self) -> int:
        if self.kind == Kind.ADDRESS:
            return settings.LOGIN_ADDRESS_FAILURE_LIMIT
        if self.kind in (Kind.RESET_EMAIL, Kind.RESET_ADDRESS):
            return settings.PASSWORD_RESET_PER_HOUR
        return settings.LOGIN_FAILURE_LIMIT


def username_key(name: str) -> Key:
    """The counter of a username as typed: "Pat " and "pat" are one counter."""
    return Key(Kind.USERNAME, name.strip().lower()[:254])


def sign_in_keys(username: str, address: str | None) -> list[Key]:
    keys = [username_key(username)]
    if address:
        keys.append(Key(Kind.ADDRESS, address[:254]))
    return keys


def _capped_per_hour(kind: str) -> bool:
    return kind in (Kind.RESET_EMAIL, Kind.RESET_ADDRESS)


def delay_after(failures: int, limit: int) -> timedelta:
    """The wait after the ``failures``-th counted check: none below the limit, then LOGIN_DELAY_SECONDS doubling up
    to LOGIN_LOCKOUT_MINUTES."""
    if failures < limit:
        return timedelta(0)
    base = settings.LOGIN_DELAY_SECONDS
    longest = settings.LOGIN_LOCKOUT_MINUTES * 60
    steps = min(failures - limit, 32)
    return timedelta(seconds=min(base * 2 ** steps, longest))


def _locked(keys: list[Key]) -> list[SignInCounter]:
    """The counters of ``keys``, created if new, locked for this transaction in one order (no deadlock)."""
    SignInCounter.objects.bulk_create([SignInCounter(kind=k.kind, key=k.key) for k in keys], ignore_conflicts=True)
    wanted = {(k.kind, k.key) for k in keys}
    rows = SignInCounter.objects.select_for_update().filter(kind__in={k.kind for k in keys},
                                                              key__in={k.key for k in keys}).order_by("kind", "key")
    return [r for r in rows if (r.kind, r.key) in wanted]


def _window(kind: str) -> timedelta:
    if _capped_per_hour(kind):
        return timedelta(hours=1)
    return timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)


def _forget_stale(row: SignInCounter, now: datetime) -> None:
    if row.last_at and row.last_at <= now - _window(row.kind) and not (row.blocked_until and row.blocked_until > now):
        row.failures = 0
        row.blocked_until = None


def wait_seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def take_slot(keys: list[Key], now: datetime) -> int | None:
    """Count one check against every key, or refuse: None when the slot is taken (the check may go ahead), else
    the seconds to wait (nothing is counted)."""
    rows = _locked(keys)
    limits = {(k.kind, k.key): k.limit for k in keys}
    for row in rows:
        _forget_stale(row, now)
    blocked = [row.blocked_until for row in rows if row.blocked_until and row.blocked_until > now]
    if blocked:
        return wait_seconds(max(blocked), now)
    for row in rows:
        row.failures += 1
        row.last_at = now
        limit = limits[(row.kind, row.key)]
        if _capped_per_hour(row.kind):  # counted requests are forgotten an hour after the last: none until then
            wait = _window(row.kind) if row.failures >= limit else timedelta(0)
        else:
            wait = delay_after(row.failures, limit)
        row.blocked_until = now + wait if wait else None
        row.save(update_fields=["failures", "last_at", "blocked_until"])
    return None


def settle(keys: list[Key], *, ok: bool) -> None:
    """After the check: a correct password gives its slot back (the username's count starts again; the address
    keeps the failures it had); a wrong one stays counted."""
    if not ok:
        return
    for row in _locked(keys):
        if row.kind == Kind.USERNAME:
            row.failures = 0
        else:
            row.failures = max(0, row.failures - 1)
        limit = next(k.limit for k in keys if (k.kind, k.key) == (row.kind, row.key))
        if row.failures < limit:
            row.blocked_until = None
        row.save(update_fields=["failures", "blocked_until"])


def clear(key: Key) -> bool:
    """Lift a block and forget the failures (an admin's unlock, or the clinician's second factor); whether there
    was anything to lift."""
    return bool(SignInCounter.objects.filter(kind=key.kind, key=key.key).exclude(failures=0, blocked_until=None)
                .update(failures=0, blocked_until=None))


def blocked(now: datetime):
    """Counters that refuse checks now, or have failures counted, for the clinic admin's page."""
    return (SignInCounter.objects.filter(kind__in=(Kind.USERNAME, Kind.ADDRESS), failures__gt=0,
                                         last_at__gt=now - timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES))
            .order_by("-blocked_until", "kind", "key"))
