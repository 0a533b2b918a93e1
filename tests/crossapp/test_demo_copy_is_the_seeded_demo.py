"""The demo clinic a module gets from the copy of an earlier seeding (tests/demo_world.py) is the one the command
wrote: every table holds the same rows, byte for byte, and the audit chain, the custody ledger and every signed
record's seal are proven on it, as on a freshly seeded clinic."""

from __future__ import annotations

import pytest
from django.db import connection

from ketaclinic.audit.seals import verify_records
from ketaclinic.audit.services import verify_chain
from ketaclinic.clinic.models import Clinic
from ketaclinic.custody.services.ledger import verify_ledger
from tests import demo_world as world

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not world.copy_on(), reason="KETACLINIC_TEST_DEMO_COPY=0: every module seeds its own")]


@pytest.fixture(scope="module")
def copied(django_db_setup, django_db_blocker):
    with world.demo_world(django_db_blocker, patients=12):  # seeds, unless a module before did in this process
        pass
    copy = world._COPIES[12]
    assert copy is not None, "seed_demo changed a row the migrations wrote, so its demo is seeded afresh each time"
    with world.demo_world(django_db_blocker, patients=12) as output:  # from the copy
        yield copy, output


def test_every_table_holds_the_rows_the_command_wrote(copied):
    copy, output = copied
    tables = {table for table in world._tables(connection) if world._dump(connection, table)}
    assert tables - set(copy.before) == set(copy.tables)
    for table in sorted(copy.tables):
        assert world._dump(connection, table) == copy.tables[table], table
    assert output == copy.output and "synthetic" in output.lower()
    connection.check_constraints()  # every foreign key of the copy points at a row (deferred checks, run now)


def test_the_chains_and_seals_of_the_copy_are_proven(copied):
    assert Clinic.objects.filter(is_demo=True).count() == 2  # the demo network's two sites
    assert verify_chain() is None and verify_ledger() is None
    checked, problems = verify_records()
    assert checked > 100 and problems == []
