"""Shared fixtures: a clinic, a signed-in client per role, patients."""

from __future__ import annotations

import os
from datetime import date

import pytest

# Django-dependent imports happen inside the fixtures, so the pure clinical-core tests can also run
# without Django (``pytest tests/clinical -p no:django``).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROLE_VALUES = ["prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"]


@pytest.fixture
def clinic(db):
    from ketaclinic.clinic.models import Clinic

    return Clinic.objects.create(name="Test Clinic", time_zone="America/Denver")


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


@pytest.fixture(autouse=True)
def _append_only_triggers_vs_flush(request):
    """Transactional tests end with a flush (DELETE on SQLite), which the append-only triggers refuse.
    Lift the triggers just before that flush and put them back at the start of the next such test."""
    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        yield
        return
    from django.db import connection

    from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, install_sql, remove_sql

    request.getfixturevalue("transactional_db")
    with connection.cursor() as cur:
        for table in APPEND_ONLY_TABLES:
            for sql in install_sql(connection.vendor, table):
                cur.execute(sql)
    yield
    with connection.cursor() as cur:
        for table in APPEND_ONLY_TABLES:
            for sql in remove_sql(connection.vendor, table):
                cur.execute(sql)


@pytest.fixture(autouse=True)
def _fresh_clinic_time_zone():
    """Each test starts with no cached clinic time zone (the cache is per process)."""
    from ketaclinic.clinic.middleware import forget_time_zone

    forget_time_zone()
    yield
    forget_time_zone()
