"""With a read replica configured (DB_REPLICA_HOST), the long reads that tolerate a moment's lag (the FHIR bulk
export's pages of resources) go to it, and nothing else does: every other read, every write and every row lock stays
on the primary, so no page reads its own write from a replica that has not caught up. Without a replica nothing
changes."""

from __future__ import annotations

import pytest
from django.db import connections, router

from ketaclinic.dbrouting import REPLICA, on_replica
from ketaclinic.patients.models import Patient


@pytest.fixture
def replica(monkeypatch):
    """A replica alias (the primary's own settings: only where queries are sent is looked at)."""
    monkeypatch.setitem(connections.databases, REPLICA, dict(connections.databases["default"]))
    yield REPLICA


def test_without_a_replica_every_read_stays_on_the_primary():
    with on_replica():
        assert router.db_for_read(Patient) == "default"
        assert Patient.objects.all().db == "default"


def test_with_a_replica_only_reads_inside_on_replica_go_to_it(replica):
    assert Patient.objects.all().db == "default"
    with on_replica():
        assert Patient.objects.all().db == REPLICA
        assert Patient.objects.select_for_update().db == "default"  # a row lock is a write
        assert router.db_for_write(Patient) == "default"
    assert Patient.objects.all().db == "default"  # and only while inside
    assert not router.allow_migrate(REPLICA, "patients")
    assert router.allow_migrate("default", "patients")
