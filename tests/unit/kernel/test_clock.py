"""The clock port: a manual clock for tests, the system clock for production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from baobab.kernel.clock import Clock, ManualClock, SystemClock

START = datetime(2025, 1, 31, 23, 59, 30, tzinfo=UTC)


def test_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2025, 1, 1, 12, 0))  # noqa: DTZ001 (naive on purpose)


def test_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    assert clock.now() == START
    clock.advance(timedelta(seconds=45))
    assert clock.now() == datetime(2025, 2, 1, 0, 0, 15, tzinfo=UTC)
    clock.advance(timedelta(days=1, microseconds=1))
    assert clock.now() == datetime(2025, 2, 2, 0, 0, 15, 1, tzinfo=UTC)


def test_manual_clock_converts_another_zone_to_utc() -> None:
    nairobi = timezone(timedelta(hours=3))
    clock = ManualClock(datetime(2025, 6, 1, 9, 0, tzinfo=nairobi))
    assert clock.now() == datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= after


def test_both_clocks_satisfy_the_port() -> None:
    clocks: list[Clock] = [SystemClock(), ManualClock(START)]
    assert all(c.now().tzinfo is UTC for c in clocks)
