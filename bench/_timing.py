"""How long a call takes in the benchmarks: the wall time of each of several runs (each script takes the best, the
median or the spread of them, as it prints)."""

from __future__ import annotations

import time
from collections.abc import Callable


def timings(fn: Callable[[], object], repeat: int) -> list[float]:
    """The seconds each of ``repeat`` calls of ``fn`` took, in the order they ran."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times
