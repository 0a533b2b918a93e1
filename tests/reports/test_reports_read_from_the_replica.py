"""With a read replica configured, a report is read from it whole: the ORM's queries and the statements a report
writes itself (percentiles, the outcomes' set-based statement, the per-patient counts, billing's aging) alike, so a
heavy report never loads the primary the clinic is writing to.

The replica here is the primary's own connection under the replica's name, so the report reads the test's rows,
while the primary's name is shut for statements during the build: a statement sent to the primary fails the test
(its settings, SQL dialect and features stay readable, as a replica shares them)."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from ketaclinic.dbrouting import REPLICA, on_replica
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS

pytestmark = pytest.mark.django_db

SENDS = frozenset({"cursor", "chunked_cursor", "_cursor", "connect", "ensure_connection", "execute_wrapper",
                   "connection", "savepoint", "_savepoint", "introspection"})


class PrimaryShut:
    """The primary's connection, refusing to send a statement."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        if name in SENDS:
            raise AssertionError(f"a report sent a statement to the primary ({name})")
        return getattr(self._real, name)

    def __setattr__(self, name, value):
        if name != "_real":
            raise AssertionError(f"a report changed the primary's connection ({name})")
        object.__setattr__(self, name, value)


@pytest.fixture
def on_the_replica_only(monkeypatch):
    primary = connections[DEFAULT_DB_ALIAS]
    configured = getattr(connections._connections, REPLICA, None)  # a replica of the run's own, kept aside
    monkeypatch.setitem(connections.databases, REPLICA, dict(connections.databases[DEFAULT_DB_ALIAS]))
    connections[REPLICA] = primary
    sent = []

    def count(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with primary.execute_wrapper(count):
        connections[DEFAULT_DB_ALIAS] = PrimaryShut(primary)
        try:
            yield sent
        finally:
            connections[DEFAULT_DB_ALIAS] = primary
            if configured is not None:
                connections[REPLICA] = configured
            else:
                del connections[REPLICA]


@pytest.mark.parametrize("slug", sorted(REPORTS))
def test_a_report_built_on_the_replica_sends_nothing_to_the_primary(slug, clinic, on_the_replica_only):
    with on_replica():
        report = REPORTS[slug].build(ReportFilters())
    assert report.sections
    assert len(on_the_replica_only) >= 3  # read, all of it, through the replica's name


def test_the_primary_is_really_shut_while_the_replica_reads(clinic, on_the_replica_only):
    from ketaclinic.clinic.models import Clinic

    with pytest.raises(AssertionError, match="sent a statement to the primary"):
        Clinic.objects.count()  # outside on_replica a read goes to the primary
