"""On PostgreSQL the application runs as a role that does not own its tables (`grant_app_role`): it cannot disable
the append-only triggers, truncate or delete the audit trail, yet does its work."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor, record, verify_chain

pytestmark = pytest.mark.postgres_only
ROLE = "ketaclinic_app_under_test"


@pytest.fixture
def as_app_role(db):
    record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {ROLE} NOLOGIN")  # rolled back with the test's transaction
    call_command("grant_app_role", ROLE)
    with connection.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {ROLE}")
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == ROLE


def refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    return str(caught.value)


def test_the_app_role_cannot_lift_the_triggers_truncate_or_delete_the_audit_trail(as_app_role):
    assert "must be owner" in refused("ALTER TABLE audit_auditentry DISABLE TRIGGER ALL")
    assert "permission denied" in refused("TRUNCATE audit_auditentry")
    assert "permission denied" in refused("DELETE FROM audit_auditentry")
    assert "permission denied" in refused("UPDATE audit_auditentry SET action = 'forged'")
    assert "must be owner" in refused("DROP TABLE custody_ledgerentry")
    assert "permission denied" in refused("SELECT setval('audit_auditentry_id_seq', 1)")
    assert "permission denied" in refused("CREATE TABLE planted (x int)")


def test_the_app_role_still_appends_to_the_trail_and_writes_ordinary_tables(as_app_role):
    record(Actor.system("test"), AuditAction.AUDIT_SEARCHED, details={"as": ROLE})
    assert AuditEntry.objects.filter(details__as=ROLE).exists() and verify_chain() is None
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_chainhead SET last_seq = last_seq")  # an ordinary table: writable


def test_a_superuser_or_a_member_of_the_owner_is_refused_as_the_app_role(db):
    from django.core.management.base import CommandError

    with connection.cursor() as cur:
        cur.execute("CREATE ROLE ketaclinic_too_strong SUPERUSER NOLOGIN")
        cur.execute("CREATE ROLE ketaclinic_owners_friend NOLOGIN")
        cur.execute("SELECT current_user")
        cur.execute(f"GRANT {cur.fetchone()[0]} TO ketaclinic_owners_friend")
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_app_role", "ketaclinic_too_strong")
    with pytest.raises(CommandError, match="member of"):
        call_command("grant_app_role", "ketaclinic_owners_friend")
