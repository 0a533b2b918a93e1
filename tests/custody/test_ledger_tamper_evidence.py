"""The custody ledger's chain is checkpointed outside the database like the audit trail's: the newest entries
removed and the head moved back are caught by `verify_ledger`."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ketaclinic.audit import checkpoints
from ketaclinic.audit.append_only import lifted
from ketaclinic.audit.models import ChainHead
from ketaclinic.custody.models import LedgerEntry
from ketaclinic.custody.services.common import CHAIN


@pytest.fixture
def checkpoint_dir(settings, tmp_path):
    settings.CHAIN_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.CHAIN_CHECKPOINT_DIR


def test_the_custody_ledger_cut_short_is_caught_by_the_checkpoint(db, checkpoint_dir, receive, vial_product):
    receive(vial_product, packages=3)
    checkpoints.write()
    call_command("verify_ledger")
    first = LedgerEntry.objects.get(seq=1)
    with lifted(connection, "custody_ledgerentry"):
        LedgerEntry.objects.filter(seq__gt=1).delete()
    ChainHead.objects.filter(name=CHAIN).update(last_seq=1, last_hash=first.hash)
    with pytest.raises(CommandError, match="custody chain ends at entry 1, but entry 3 was checkpointed"):
        call_command("verify_ledger")
