"""The live server answers one request at a time when it shares the test's in-memory SQLite database.

With the embedded database the tests run on an in-memory SQLite connection, and Django's live server hands that
one connection to every request thread it starts. A page that polls (the cockpit, the room board) sends requests
while the browser posts a form, and while the test itself reads the database; two threads stepping one SQLite
connection at once fail at random with ``InterfaceError: bad parameter or other API misuse`` (CI saw it on the
esketamine journey's "Calculate and record dose"). A clinic's server never shares a connection between
requests: on SQLite each thread opens its own, on PostgreSQL each request has its own session.

So, only when that connection is shared, each request holds one lock from its first byte to its last, each
transaction the test itself opens (a service called from the test, in its own atomic block) holds the same lock
from its start to its commit, and each statement the test runs outside one takes it too. The connection's
transaction state is shared with it, so a request run between two statements of the test's transaction would run
inside that transaction. PostgreSQL runs keep concurrent requests concurrent."""

from __future__ import annotations

import threading

from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import transaction

#: Re-entrant: a request's own statements take it again inside the request.
SHARED_CONNECTION = threading.RLock()
_per_thread = threading.local()


def _one_at_a_time(execute, sql, params, many, context):
    with SHARED_CONNECTION:
        return execute(sql, params, many, context)


def _hold_for_each_transaction(shared) -> None:
    """Every atomic block on a shared connection holds the lock from its start to its end (re-entrant: a nested
    block, or a request's own block inside the request's hold, counts once more)."""
    atomic = transaction.Atomic
    if getattr(atomic, "_holds_shared_connection", False):
        return
    enter, exit_ = atomic.__enter__, atomic.__exit__

    def __enter__(self):
        held = transaction.get_connection(self.using) in shared
        if held:
            SHARED_CONNECTION.acquire()
        held_here = _per_thread.__dict__.setdefault("held", [])  # blocks nest within a thread, last in first out
        held_here.append(held)
        try:
            return enter(self)
        except BaseException:
            if held_here.pop():
                SHARED_CONNECTION.release()
            raise

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            return exit_(self, exc_type, exc_value, traceback)
        finally:
            held_here = _per_thread.__dict__.get("held")
            if held_here and held_here.pop():  # a block entered before the patch was never counted
                SHARED_CONNECTION.release()

    atomic.__enter__, atomic.__exit__ = __enter__, __exit__
    atomic._holds_shared_connection = True


class OneRequestAtATimeServer(ThreadedWSGIServer):
    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, connections_override=connections_override, **kwargs)
        self.shares_a_connection = bool(connections_override)
        for connection in (connections_override or {}).values():
            if _one_at_a_time not in connection.execute_wrappers:
                connection.execute_wrappers.append(_one_at_a_time)
        if self.shares_a_connection:
            _hold_for_each_transaction(list(connections_override.values()))

    def set_app(self, application):
        if not self.shares_a_connection:
            return super().set_app(application)

        def serialized(environ, start_response):
            with SHARED_CONNECTION:
                response = application(environ, start_response)
                try:
                    body = list(response)  # the whole body under the lock: a FileResponse reads as it is sent
                finally:
                    if hasattr(response, "close"):
                        response.close()  # request_finished runs here, still under the lock
            return body

        return super().set_app(serialized)
