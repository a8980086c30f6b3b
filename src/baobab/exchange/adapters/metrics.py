"""The operational monitor on ``/metrics``: a Prometheus collector read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from baobab.exchange.monitoring import BUCKETS, OperationalMonitor


class ExchangeCollector(Collector):
    """``baobab_exchange_messages_total{client,service,outcome}``,
    ``baobab_exchange_errors_total{client,service,code}`` and
    ``baobab_exchange_message_duration_seconds{client,service}``."""

    def __init__(self, monitor: OperationalMonitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterator[Metric]:
        messages = CounterMetricFamily(
            "baobab_exchange_messages",
            "Messages answered by the gateway",
            labels=["client", "service", "outcome"],
        )
        errors = CounterMetricFamily(
            "baobab_exchange_errors",
            "Messages refused or failed, by error code",
            labels=["client", "service", "code"],
        )
        durations = HistogramMetricFamily(
            "baobab_exchange_message_duration_seconds",
            "Time from receiving a message to its logged answer",
            labels=["client", "service"],
        )
        for stats in self._monitor.snapshot():
            for outcome, count in sorted(stats.outcomes.items()):
                messages.add_metric([stats.client, stats.service, outcome], count)
            for code, count in sorted(stats.errors.items()):
                errors.add_metric([stats.client, stats.service, code], count)
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), stats.buckets, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            durations.add_metric([stats.client, stats.service], buckets, stats.duration_sum)
        yield messages
        yield errors
        yield durations


def register_metrics(registry: CollectorRegistry, monitor: OperationalMonitor) -> None:
    """Expose ``monitor`` on the app's ``/metrics`` (the registry given to create_http_app)."""
    registry.register(ExchangeCollector(monitor))
