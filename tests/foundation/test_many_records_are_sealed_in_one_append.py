"""A synthetic history written in bulk (the benchmark network's) is sealed in bulk: ``seal_demo_history_many`` writes
what ``seal_demo_history`` writes one record at a time (the same content hashes; the same entries but for their place
in the chain and their time) in one append to the audit chain, the chain and every seal verify afterwards, and a real
patient's record among them is refused with nothing written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry, ChainHead, RecordSeal
from ketaclinic.audit.seals import seal_demo_history, seal_demo_history_many, verify_records
from ketaclinic.audit.services import AUDIT_CHAIN, Actor, verify_chain
from ketaclinic.patients.services import register_patient
from tests.factories import dosed_session, make_order, make_rooms


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def demo_records(clinic, actor_for, staff, rooms):
    """A synthetic demo patient's two signed sessions (a week apart), their orders and their eligibility
    assessments, written through the services."""
    demo = register_patient(actor=actor_for("front_desk"), clinic=clinic, confirm_duplicate=True, is_demo=True,
                            data={"legal_given_name": "Demo", "legal_family_name": "Synthetic",
                                  "date_of_birth": date(1980, 1, 1), "sex_at_birth": "male"})
    sessions = [dosed_session(demo, staff, rooms=rooms, end="signed", start=timezone.now() - timedelta(days=days))
                for days in (7, 0)]
    records = [*sessions, *(s.order for s in sessions), *(s.order.eligibility for s in sessions)]
    assert all(r is not None for r in records)
    return records


def _written_after(seq: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=seq).select_related("seal").order_by("seq"))


def _head() -> tuple[int, str]:
    head = ChainHead.objects.get(name=AUDIT_CHAIN)
    return head.last_seq, head.last_hash


def _what_it_says(entry: AuditEntry) -> dict[str, object]:
    """What an entry records, less its place in the chain and its time (the only things two sealings differ in)."""
    return {k: v for k, v in entry.content().items() if k not in ("seq", "at")}


def test_sealing_many_at_once_writes_what_sealing_one_at_a_time_writes(demo_records, staff):
    actor = Actor.for_user(staff["prescriber"])
    before, _ = _head()
    for record in demo_records:
        seal_demo_history(actor, record)
    one_at_a_time = _written_after(before)
    between, _ = _head()

    with CaptureQueriesContext(connection) as ctx:
        assert seal_demo_history_many(actor, demo_records) == len(demo_records)
    at_once = _written_after(between)

    assert [e.seq for e in at_once] == list(range(between + 1, between + len(demo_records) + 1))
    assert [_what_it_says(e) for e in at_once] == [_what_it_says(e) for e in one_at_a_time]
    assert [(e.seal.record, e.seal.record_pk, e.seal.hash) for e in at_once] == \
        [(e.seal.record, e.seal.record_pk, e.seal.hash) for e in one_at_a_time]
    # one append: the head read (locked) once and moved once, whatever the number of records
    assert sum("audit_chainhead" in q["sql"] for q in ctx.captured_queries) == 2
    assert _head() == (at_once[-1].seq, at_once[-1].hash)
    assert verify_chain() is None
    checked, problems = verify_records()
    assert problems == [] and checked >= len(demo_records)


def test_a_real_patients_record_among_them_is_refused_and_nothing_is_written(demo_records, patient, staff):
    real_order = make_order(patient, staff)
    head, entries, seals = _head(), AuditEntry.objects.count(), RecordSeal.objects.count()

    with pytest.raises(ValueError, match="synthetic demo patient"):
        seal_demo_history_many(Actor.for_user(staff["prescriber"]), [*demo_records, real_order])

    assert (_head(), AuditEntry.objects.count(), RecordSeal.objects.count()) == (head, entries, seals)
    assert verify_chain() is None
