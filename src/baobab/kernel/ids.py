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


def uuid7() -> uuid.UUID:
    """A new UUIDv7. Within one millisecond the random part is incremented, so ids stay ordered."""
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >= 1 << 74:  # counter exhausted within one millisecond: borrow the next one
                ms += 1
                rand = int.from_bytes(os.urandom(10)) >> 7
        else:
            rand = int.from_bytes(os.urandom(10)) >> 7  # 73 random bits leave room to count up
        _last_ms, _last_rand = ms, rand
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new time-ordered identifier as a canonical UUID string."""
    return str(uuid7())
