"""Read-only replicas for exports and reports: the database router.

With ``DB_REPLICA_HOST`` set (PostgreSQL only; ketaclinic/settings.py), the ``replica`` connection points at a
streaming replica of the primary. Reads go there only inside :func:`on_replica`, which long reads that tolerate a
moment's replication lag wrap (the FHIR bulk export's resource pages, the reports on their pages, in their
section CSVs and in their background CSV jobs; not the research export, which joins its reads to rows it has just
written and must honour a withdrawn consent at once); everything else, and every write and row
lock anywhere, goes to the primary, so no page reads its own write from a replica that has not caught up. Without a
replica configured, :func:`on_replica` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


@contextmanager
def on_replica() -> Iterator[None]:
    """Send the reads made inside to the replica, if one is configured."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading_from_replica.get() and REPLICA in connections.databases:
            return REPLICA
        return DEFAULT_DB_ALIAS  # the primary, even for a row read from the replica before

    def db_for_write(self, model, **hints):
        # the primary, always, even for a row read from the replica (select_for_update routes as a write)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # a replica takes its schema from the primary's WAL
