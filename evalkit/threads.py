"""How many CPU cores this process may use — the one place the hashing threads and the parallel
registry rules ask."""
from __future__ import annotations

import os


def available_cpus() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it, else the
    machine's core count; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
