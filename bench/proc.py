"""CPU time of processes from Linux ``/proc``: what the benchmarks divide by the work done."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(*pids: int, descendants: bool = False) -> float:
    """User + system CPU seconds so far of the processes ``pids`` (those that ended count 0)
    and, with ``descendants``, of every live process they started (a server's workers)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        if descendants:
            total += cpu_seconds(*children(pid), descendants=True)
    return total


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
