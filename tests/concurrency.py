"""Running calls at the same moment, each in its own thread with its own database connection (the concurrency tests
against PostgreSQL: tests marked ``postgres_only``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest
from django.db import connections

#: How long a thread may wait for the others at the start line, and how long all may take to finish.
START_SECONDS = 20
FINISH_SECONDS = 120


def at_once(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Run every call in its own thread, all released together (a barrier); returns, in the order of ``calls``,
    each one's result, or the exception it raised (any ``Exception``: the test decides which it expected). Each
    thread closes its database connections when done. Fails the test if a thread has not finished in
    FINISH_SECONDS, rather than reading the result of a call still running."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=START_SECONDS)
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - handed back to the test
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + FINISH_SECONDS
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    if stuck:
        pytest.fail(f"calls {stuck} of {len(calls)} still running after {FINISH_SECONDS} s")
    return results
