"""When to use a second thread, and how many cores there are — one answer for the Parquet reader,
the canonical form, the registry rules, the fingerprint and the hashing threads.

The array work these do (numpy, Arrow, sorts) releases the GIL, so two threads use two cores;
below ``PARALLEL_ROWS`` rows the thread start-up costs more than it saves.
"""
from __future__ import annotations

import os

#: tables at least this long do independent pieces of work on two threads
PARALLEL_ROWS = 200_000


def available_cpus() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it, else the
    machine's core count; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parallel(n_rows: int) -> bool:
    """Whether work on a table of ``n_rows`` rows should use a second thread."""
    return n_rows >= PARALLEL_ROWS and available_cpus() >= 2
