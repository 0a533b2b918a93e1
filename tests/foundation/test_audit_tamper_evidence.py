"""Tamper evidence that holds against someone who can write to the database: the chains are keyed with a key kept
outside it, and their heads are checkpointed outside it, so a re-hashed chain and a chain cut short are both caught
(`verify_audit`, `verify_ledger`)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ketaclinic.audit import chain as hashing
from ketaclinic.audit import checkpoints
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry, ChainHead
from ketaclinic.audit.services import AUDIT_CHAIN, Actor, record, verify_chain
from tests.foundation.test_audit import tampering

WRONG_KEY = bytes(range(32))  # what an attacker without the chain key has to use


@pytest.fixture
def checkpoint_dir(settings, tmp_path):
    settings.CHAIN_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.CHAIN_CHECKPOINT_DIR


@pytest.fixture
def five(db, checkpoint_dir):
    actor = Actor.system("test")
    return [record(actor, AuditAction.AUDIT_SEARCHED, details={"n": i}) for i in range(5)]


def rehash_from(seq: int, key: bytes, edit: dict | None = None) -> None:
    """Rewrite entry ``seq`` (with ``edit``) and re-hash it and every later entry under ``key``, moving the head:
    what a database writer does to hide an edit."""
    with tampering():
        if edit:
            AuditEntry.objects.filter(seq=seq).update(**edit)
        prev = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else hashing.GENESIS
        for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
            new = hashing.entry_hash(prev, entry.content(), key)
            AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=prev, hash=new)
            prev = new
        ChainHead.objects.filter(name=AUDIT_CHAIN).update(last_hash=prev)


def test_the_last_entry_edited_and_re_hashed_without_the_key_is_caught(five):
    """Before the chain was keyed, editing the newest entry and re-hashing it (and the head) left a chain that
    verified: there was no later link to break."""
    rehash_from(5, WRONG_KEY, edit={"details": {"n": "forged"}})
    problem = verify_chain()
    assert problem is not None and problem.seq == 5 and "chain key" in problem.reason
    with pytest.raises(CommandError, match="entry 5"):
        call_command("verify_audit")


def test_a_whole_chain_re_hashed_without_the_key_is_caught_at_its_first_entry(five):
    rehash_from(1, WRONG_KEY, edit={"actor_label": "someone else"})
    problem = verify_chain()
    assert problem is not None and problem.seq == 1


def test_the_newest_entries_removed_and_the_head_moved_back_are_caught_by_the_checkpoint(five, capsys):
    assert [p.seq for p in checkpoints.write()] == [5]
    call_command("verify_audit")
    assert "agrees with 1 checkpoint" in capsys.readouterr().out
    third = AuditEntry.objects.get(seq=3)
    with tampering():
        AuditEntry.objects.filter(seq__gt=3).delete()
        ChainHead.objects.filter(name=AUDIT_CHAIN).update(last_seq=3, last_hash=third.hash)
    assert verify_chain() is None  # what the chain alone shows: a shorter, intact chain
    with pytest.raises(CommandError, match="ends at entry 3, but entry 5 was checkpointed"):
        call_command("verify_audit")


def test_a_chain_re_hashed_with_the_key_itself_is_caught_by_the_checkpoint(five, settings):
    """Someone who also stole the key can re-hash an edit so the chain verifies; the checkpoint taken before still
    names the rewritten entry."""
    checkpoints.write()
    rehash_from(2, settings.CHAIN_KEY, edit={"details": {"n": "forged"}})
    assert verify_chain() is None
    with pytest.raises(CommandError, match="entry 5 of the audit chain differs"):
        call_command("verify_audit")


def test_a_checkpoint_line_edited_in_the_file_is_reported(five, checkpoint_dir):
    checkpoints.write()
    path = checkpoints.checkpoint_file()
    line = json.loads(path.read_text())
    line["seq"] = 2
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(CommandError, match="checkpoint line 1 was not signed with the chain key"):
        call_command("verify_audit")


def test_every_checkpoint_run_writes_a_line_chained_to_the_one_before(five, capsys):
    call_command("checkpoint_chains")
    assert "audit chain at entry 5" in capsys.readouterr().out
    call_command("checkpoint_chains")  # unmoved: written too, so the newest line's time shows checkpoints go on
    record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
    assert [(p.chain, p.seq) for p in checkpoints.write()] == [("audit", 6)]
    assert [p.seq for p in checkpoints.read()[0]] == [5, 5, 6]
    call_command("verify_audit")


def test_a_checkpoint_line_taken_out_of_the_middle_is_reported(five, checkpoint_dir):
    for _ in range(3):
        checkpoints.write()
    path = checkpoints.checkpoint_file()
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    with pytest.raises(CommandError, match="checkpoint line 2 was not signed .* a line before it removed"):
        call_command("verify_audit")


def test_checkpoints_that_stopped_or_whose_newest_lines_were_removed_are_reported(five, settings, clock):
    from datetime import timedelta

    settings.CHAIN_CHECKPOINT_MAX_AGE_MINUTES = 15
    with pytest.raises(CommandError, match="newest checkpoint of the audit chain is missing"):
        call_command("verify_audit")
    checkpoints.write()
    call_command("verify_audit")
    clock.shift(timedelta(minutes=20))
    with pytest.raises(CommandError, match="more than 15 minutes ago"):
        call_command("verify_audit")


