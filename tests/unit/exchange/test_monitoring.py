"""Operational monitoring: counts by outcome and error, latency buckets, the Prometheus view."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from baobab.exchange import MessageRecord, OperationalMonitor
from baobab.exchange.adapters.metrics import register_metrics

NOW = datetime(2026, 1, 15, tzinfo=UTC)


def record(outcome: str = "ok", error: str | None = None, ms: float = 3.0) -> MessageRecord:
    return MessageRecord(
        "m", "DEV/A/B/c", "DEV/X/Y/z/svc", NOW, NOW, outcome, error, duration_ms=ms
    )


def test_counts_errors_and_latencies_per_client_and_service() -> None:
    monitor = OperationalMonitor()
    for _ in range(98):
        monitor.observe(record())
    monitor.observe(record("refused", "directory.access_denied", ms=0.5))
    monitor.observe(record(), error="exchange.message_log_unavailable")
    (stats,) = monitor.snapshot()
    assert stats.count == 100
    assert stats.outcomes == {"ok": 98, "refused": 2}
    assert stats.errors == {
        "directory.access_denied": 1,
        "exchange.message_log_unavailable": 1,
    }
    assert stats.quantile(0.5) == 0.005
    monitor.observe(record(ms=60_000))
    assert monitor.snapshot()[0].quantile(1.0) == float("inf")


def test_the_prometheus_view_never_holds_payloads() -> None:
    monitor = OperationalMonitor()
    monitor.observe(record())
    monitor.observe(record("failed", "exchange.provider_timeout", ms=30.0))
    registry = CollectorRegistry()
    register_metrics(registry, monitor)
    text = generate_latest(registry).decode()
    labels = 'client="DEV/A/B/c",outcome="ok",service="DEV/X/Y/z/svc"'
    assert f"baobab_exchange_messages_total{{{labels}}} 1.0" in text
    assert 'code="exchange.provider_timeout"' in text
    assert 'baobab_exchange_message_duration_seconds_count{client="DEV/A/B/c"' in text
    assert 'le="0.05",service="DEV/X/Y/z/svc"} 2.0' in text


def test_an_empty_monitor() -> None:
    monitor = OperationalMonitor()
    assert monitor.snapshot() == []
