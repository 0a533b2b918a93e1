from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.urls import reverse

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.append_only import lifted
from ketaclinic.audit.models import AppendOnlyError, AuditEntry
from ketaclinic.audit.services import Actor, record, verify_chain

TABLE = "audit_auditentry"


def tampering():
    """Temporarily lift the append-only triggers, as an attacker with database access could."""
    return lifted(connection, TABLE)


@pytest.fixture
def chain(db):
    actor = Actor.system("test")
    return [record(actor, AuditAction.AUDIT_SEARCHED, details={"n": i}) for i in range(5)]


def test_intact_chain_verifies(chain, capsys):
    assert verify_chain() is None
    call_command("verify_audit")
    assert "5 entries verified" in capsys.readouterr().out


def test_an_edited_row_is_caught(chain):
    with tampering():
        AuditEntry.objects.filter(seq=3).update(details={"n": 99})
    problem = verify_chain()
    assert problem is not None and problem.seq == 3 and "altered" in problem.reason
    with pytest.raises(CommandError, match="entry 3"):
        call_command("verify_audit")


def test_a_deleted_row_is_caught(chain):
    with tampering():
        AuditEntry.objects.filter(seq=2).delete()
    problem = verify_chain()
    assert problem is not None and problem.seq == 2 and "missing" in problem.reason


def test_a_deleted_last_row_is_caught(chain):
    with tampering():
        AuditEntry.objects.filter(seq=5).delete()
    problem = verify_chain()
    assert problem is not None and problem.seq == 5


def test_a_rewritten_row_with_recomputed_hash_breaks_the_next_link(chain, settings):
    """Even someone who holds the chain key and re-hashes the row they edited leaves the next link broken."""
    from ketaclinic.audit import chain as hashing

    entry = AuditEntry.objects.get(seq=2)
    entry.details = {"n": 42}
    new_hash = hashing.entry_hash(entry.prev_hash, entry.content(), settings.CHAIN_KEY)
    with tampering():
        AuditEntry.objects.filter(seq=2).update(details={"n": 42}, hash=new_hash)
    problem = verify_chain()
    assert problem is not None and problem.seq == 3


def test_model_refuses_update_and_delete(chain):
    entry = AuditEntry.objects.get(seq=1)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_database_refuses_update_and_delete(chain):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).delete()


def test_audit_is_rolled_back_with_a_failed_change(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
        raise RuntimeError("the change failed")
    assert not AuditEntry.objects.filter(action=AuditAction.AUDIT_SEARCHED).exists()


def test_compliance_searches_by_patient_user_and_date(client_for, patient, staff):
    client_for("nurse").get(reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    c = client_for("compliance")

    def found(query):  # the entries listed (the search form's action menu names every action)
        return c.get(reverse("audit:search"), query).content.decode().split("<tbody>", 1)[1]

    body = found({"patient": patient.mrn})
    assert "patient.chart.viewed" in body and "patient.registered" in body
    body = found({"user": "nurse", "action": "patient.chart.viewed"})
    assert "patient.chart.viewed" in body and "patient.registered" not in body
    body = found({"date_from": "2000-01-01", "date_to": "2000-01-02"})
    assert "No entries." in body


def test_audit_search_refuses_absurd_dates_without_error(client_for):
    response = client_for("compliance").get(reverse("audit:search"), {"date_to": "9999-12-31"})
    assert response.status_code == 200 and "between 1900 and 9000" in response.content.decode()


def test_appending_an_entry_costs_three_statements(db):
    """Every audited request appends, so the append stays small: lock the head, insert, move the head."""
    from django.test.utils import CaptureQueriesContext

    record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
    with CaptureQueriesContext(connection) as ctx:
        record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, statements
    assert verify_chain() is None


def test_details_with_a_nul_are_recorded_with_the_nul_shown_at_any_depth(db):
    """PostgreSQL's JSON cannot hold U+0000; a NUL a visitor typed is recorded as U+2400 on every database."""
    entry = record(Actor.system("test"), AuditAction.AUDIT_SEARCHED,
                   details={"term": "Sam\x00", "query": {"q\x00": ["a\x00b", 1, None]}})
    entry.refresh_from_db()
    assert entry.details == {"term": "Sam\u2400", "query": {"q\u2400": ["a\u2400b", 1, None]}}
    assert verify_chain() is None


def test_an_audit_search_with_a_nul_in_its_query_is_answered_and_recorded(client_for):
    response = client_for("compliance").get(reverse("audit:search"), {"user": "admin\x00", "pa\x00ge": "1"})
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action=AuditAction.AUDIT_SEARCHED).latest("seq")
    assert entry.details == {"query": {"user": "admin\u2400", "pa\u2400ge": "1"}}
