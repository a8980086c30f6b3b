"""UUIDv7 identifiers (RFC 9562): version, variant, time order and uniqueness."""

from __future__ import annotations

import itertools
import time
import uuid
from types import SimpleNamespace

import pytest

from baobab.kernel import ids
from baobab.kernel.ids import new_id, uuid7


def keep_generator_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore the generator's last time and counter afterwards: the fake clock runs ahead."""
    monkeypatch.setattr(ids, "_last_ms", ids._last_ms)
    monkeypatch.setattr(ids, "_last_rand", ids._last_rand)


def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    for _ in range(100):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 0x7
        assert (value.int >> 62) & 0b11 == 0b10


def test_new_id_is_a_canonical_uuid_string() -> None:
    text = new_id()
    assert len(text) == 36
    assert str(uuid.UUID(text)) == text
    assert text == text.lower()
    assert text[14] == "7"
    assert text[19] in "89ab"


def test_uuid7_carries_the_unix_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= value.int >> 80 <= after + 1


def test_ten_thousand_ids_are_strictly_increasing_and_unique() -> None:
    generated = [new_id() for _ in range(10_000)]
    assert all(a < b for a, b in itertools.pairwise(generated))
    assert len(set(generated)) == 10_000


def test_ids_stay_ordered_when_the_clock_stands_still_or_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep_generator_state(monkeypatch)
    now_ms = [time.time_ns() // 1_000_000 + 60_000]  # ahead of any id made so far
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: now_ms[0] * 1_000_000))
    first = [uuid7() for _ in range(50)]
    now_ms[0] -= 5_000  # the wall clock steps back five seconds
    later = [uuid7() for _ in range(50)]
    values = [str(u) for u in first + later]
    assert values == sorted(values)
    assert len(set(values)) == 100
    assert all(u.int >> 80 == first[0].int >> 80 for u in first + later)


def test_an_exhausted_counter_borrows_the_next_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep_generator_state(monkeypatch)
    frozen_ms = time.time_ns() // 1_000_000 + 120_000
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: frozen_ms * 1_000_000))
    first = uuid7()
    assert first.int >> 80 == frozen_ms
    monkeypatch.setattr(ids, "_last_rand", (1 << 74) - 1)  # the counter is at its last value
    second = uuid7()
    assert second.int >> 80 == frozen_ms + 1
    assert str(first) < str(second)
    assert second.version == 7
    assert second.variant == uuid.RFC_4122


def test_real_ids_after_the_fake_clock_tests_carry_the_real_time() -> None:
    assert abs((uuid7().int >> 80) - time.time_ns() // 1_000_000) < 1_000


def test_each_millisecond_starts_from_fresh_random_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_generator_state(monkeypatch)
    start_ms = time.time_ns() // 1_000_000 + 180_000
    now_ms = [start_ms]
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: now_ms[0] * 1_000_000))
    randoms = []
    for step in range(200):  # more than one draw of random starts from the OS
        now_ms[0] = start_ms + step
        randoms.append(uuid7().int & ((1 << 74) - 1))
    assert len(set(randoms)) == 200
    assert not any(b - a == 1 for a, b in itertools.pairwise(randoms))
