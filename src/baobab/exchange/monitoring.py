"""Operational monitoring: per client and service, how many messages, how they ended, how long
they took — counts and durations only, never a payload, a path or a user id.

The monitor keeps this process's figures since it started (Prometheus adds up replicas); the
message log keeps the durable record of every message.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from dataclasses import dataclass, field

from baobab.exchange.domain import MessageRecord

# histogram bucket upper bounds, seconds (Prometheus' defaults stretched to the gateway timeout)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class ServiceStats:
    """One client's messages to one service."""

    client: str
    service: str
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    duration_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))

    @property
    def count(self) -> int:
        return sum(self.outcomes.values())

    def quantile(self, q: float) -> float | None:
        """Upper bound (seconds) of the bucket holding quantile ``q``; None without messages;
        ``inf`` past the last bucket."""
        total = self.count
        if total == 0:
            return None
        rank, seen = q * total, 0
        for index, n in enumerate(self.buckets):
            seen += n
            if seen >= rank and n:
                return BUCKETS[index] if index < len(BUCKETS) else float("inf")
        return float("inf")


class OperationalMonitor:
    """Counts every message the gateway answers (it is the gateway's ``MessageObserver``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], ServiceStats] = {}

    def observe(self, record: MessageRecord, *, error: str | None = None) -> None:
        """Count one answered message; ``error`` overrides the record's (the log refusal)."""
        key = (record.client, record.service)
        seconds = record.duration_ms / 1000
        with self._lock:
            stats = self._stats.get(key)
            if stats is None:
                stats = self._stats[key] = ServiceStats(record.client, record.service)
            code = error or record.error
            stats.outcomes["refused" if error else record.outcome] += 1
            if code:
                stats.errors[code] += 1
            stats.duration_sum += seconds
            stats.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1

    def snapshot(self) -> list[ServiceStats]:
        """A copy of every client/service pair's figures, ordered by service then client."""
        with self._lock:
            copies = [
                ServiceStats(
                    s.client,
                    s.service,
                    Counter(s.outcomes),
                    Counter(s.errors),
                    s.duration_sum,
                    list(s.buckets),
                )
                for s in self._stats.values()
            ]
        return sorted(copies, key=lambda s: (s.service, s.client))
