"""Time-ordered identifiers (UUIDv7, RFC 9562): sorted by creation time, unique without
coordination."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_rand = 0

_STARTS_PER_DRAW = 64  # random starts drawn from the OS at once: one system call, not one per id
_starts: list[int] = []
os.register_at_fork(after_in_child=_starts.clear)  # a child must not reuse its parent's starts


def _random_start() -> int:
    """73 random bits (room left to count up within one millisecond), under ``_lock``."""
    if not _starts:
        drawn = os.urandom(10 * _STARTS_PER_DRAW)
        _starts.extend(int.from_bytes(drawn[i : i + 10]) >> 7 for i in range(0, len(drawn), 10))
    return _starts.pop()


def _uuid7_int() -> int:
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >= 1 << 74:  # counter exhausted within one millisecond: borrow the next one
                ms += 1
                rand = _random_start()
        else:
            rand = _random_start()
        _last_ms, _last_rand = ms, rand
    return (
        (ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | ((rand >> 62) & 0xFFF) << 64
        | 0b10 << 62
        | rand & ((1 << 62) - 1)
    )


def uuid7() -> uuid.UUID:
    """A new UUIDv7. Within one millisecond the random part is incremented, so ids stay ordered."""
    return uuid.UUID(int=_uuid7_int())


def new_id() -> str:
    """A new time-ordered identifier as a canonical UUID string (the text of :func:`uuid7`)."""
    h = f"{_uuid7_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
