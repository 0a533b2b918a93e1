"""Shared fixtures: a clinic, a signed-in client per role, patients."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

# Django-dependent imports happen inside the fixtures, so the pure clinical-core tests can also run
# without Django (``pytest tests/clinical -p no:django``).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

#: The test clinic's time zone: "now" in tests is a moment in it.
CLINIC_TZ = "America/Denver"
#: "Now" for every test: a fixed moment, never the wall clock. CI runs the date-sensitive tests again with
#: KETACLINIC_TEST_NOW set to each moment of its date matrix (weekends, federal holidays, DST changes, New
#: Year's Eve); a naive value is read in the clinic's time zone.
DEFAULT_TEST_NOW = "2026-06-17T10:00"  # a Wednesday morning


def test_now() -> datetime:
    raw = os.environ.get("KETACLINIC_TEST_NOW") or DEFAULT_TEST_NOW
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(CLINIC_TZ))


test_now.__test__ = False  # a helper, not a test


#: The tests whose outcome depends on the calendar (custody deadlines, schedules and booking, measures due, REMS
#: due, portal expiries, idle sign-out, and the shared foundation clinic, which books sessions, receives and
#: expires stock today and renders Today). ``.ci/run`` runs them again (``-m calendar``) at every moment of its
#: date matrix. The pure clinical-core tests of deadlines and schedules use fixed dates only (they never read the
#: clock), so the matrix would only repeat them.
DATE_SENSITIVE = (
    "tests/custody/",
    "tests/treatments/",
    "tests/measures/",
    "tests/integration/",
    "tests/portal/",
    "tests/foundation/test_accounts.py",
    "tests/foundation/test_every_url.py",
    "tests/foundation/test_links_follow_the_policy.py",
    "tests/crossapp/",
)


def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath) + os.sep
    for item in items:
        path = str(item.path).removeprefix(root)
        if path.startswith(DATE_SENSITIVE):
            item.add_marker(pytest.mark.calendar)


@dataclass
class Clock:
    """The one clock of the test suite (time-machine): ``timezone.now()`` everywhere, the app and the live
    server included, reads it. It starts at :func:`test_now` for every test and then ticks."""

    traveller: time_machine.Coordinates
    tz: ZoneInfo

    def now(self) -> datetime:
        from django.utils import timezone

        return timezone.now()

    def local(self) -> datetime:
        return self.now().astimezone(self.tz)

    def today(self) -> date:
        """Today in the clinic's time zone."""
        return self.local().date()

    def shift(self, delta: timedelta) -> datetime:
        self.traveller.shift(delta)
        return self.now()

    def move_to(self, moment: datetime) -> datetime:
        self.traveller.move_to(moment)
        return self.now()


@pytest.fixture(autouse=True)
def clock():
    """Every test runs at :func:`test_now` (see DEFAULT_TEST_NOW and the CI date matrix), in the clinic's
    time zone."""
    from django.test import override_settings

    # The app reads "today" in the clinic's time zone (its middleware activates it on every request); the
    # test process does the same, so a test's timezone.localdate() is the clinic's date.
    with override_settings(TIME_ZONE=CLINIC_TZ), time_machine.travel(test_now(), tick=True) as traveller:
        yield Clock(traveller, ZoneInfo(CLINIC_TZ))


ROLE_VALUES = ["prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"]


@pytest.fixture
def clinic(db):
    from ketaclinic.clinic.models import Clinic

    return Clinic.objects.create(name="Test Clinic", time_zone=CLINIC_TZ)


@pytest.fixture
def make_user(db):
    from ketaclinic.accounts.models import RoleGrant, User

    counter = {"n": 0}

    def make(*roles: str, username: str | None = None, **fields):
        counter["n"] += 1
        name = username or f"user{counter['n']}_{'_'.join(roles) or 'none'}"
        user = User.objects.create_user(username=name, password="correct horse battery", first_name="Test",
                                        last_name=f"User{counter['n']}", **fields)
        RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in roles])
        return user

    return make


@pytest.fixture
def staff(make_user, clinic) -> dict:
    """One user per role, keyed by role value."""
    return {role: make_user(role, username=role) for role in ROLE_VALUES}


@pytest.fixture
def client_for(staff):
    from django.test import Client

    def for_role(role: str):
        c = Client()
        c.force_login(staff[role])
        return c

    return for_role


@pytest.fixture
def actor_for(staff):
    from ketaclinic.audit.services import Actor

    def make(role: str):
        user = staff[role]
        return Actor(user=user, roles=user.role_set(), client_ip="127.0.0.1")

    return make


@pytest.fixture
def make_patient(clinic, actor_for):
    from ketaclinic.patients.services import register_patient

    counter = {"n": 0}

    def make(**overrides):
        counter["n"] += 1
        data = {
            "legal_given_name": "Avery",
            "legal_family_name": f"Sampleton{counter['n']}",
            "date_of_birth": date(1985, 4, 12),
            "sex_at_birth": "female",
        }
        data.update(overrides)
        return register_patient(actor=actor_for("front_desk"), clinic=clinic, data=data, confirm_duplicate=True)

    return make


@pytest.fixture
def patient(make_patient):
    return make_patient()


_TRIGGERS_LIFTED = {"since_flush": False}


@pytest.fixture(autouse=True)
def _append_only_triggers_vs_flush(request, django_db_blocker):
    """Transactional tests end with a flush (DELETE on SQLite), which the append-only triggers refuse.
    Lift the triggers just before that flush and put them back at the start of the next test that uses the
    database (in its transaction, so again for every test until a transactional test re-installs them for good)."""
    from django.db import connection

    from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, install_sql, remove_sql

    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        if _TRIGGERS_LIFTED["since_flush"] and ("db" in request.fixturenames
                                                or request.node.get_closest_marker("django_db")):
            request.getfixturevalue("db")
            with django_db_blocker.unblock(), connection.cursor() as cur:
                for table in APPEND_ONLY_TABLES:
                    for sql in install_sql(connection.vendor, table):
                        cur.execute(sql)
        yield
        return

    request.getfixturevalue("transactional_db")
    with connection.cursor() as cur:
        for table in APPEND_ONLY_TABLES:
            for sql in install_sql(connection.vendor, table):
                cur.execute(sql)
    _TRIGGERS_LIFTED["since_flush"] = False
    yield
    with connection.cursor() as cur:
        for table in APPEND_ONLY_TABLES:
            for sql in remove_sql(connection.vendor, table):
                cur.execute(sql)
    _TRIGGERS_LIFTED["since_flush"] = True


@pytest.fixture(autouse=True)
def _fresh_clinic_time_zone():
    """Each test starts with no cached clinic time zone (the cache is per process)."""
    from ketaclinic.clinic.middleware import forget_time_zone

    forget_time_zone()
    yield
    forget_time_zone()
