"""The enrolling subsystems' keys, remembered for a few seconds.

Every packet's signature is checked against the keys the directory holds for the subsystem that
sent it. Asking the directory each time costs a transaction per packet (on SQLite a commit),
about as much as storing the packet itself. Like a JWKS cache, this adapter keeps each
subsystem's key list for ``ttl``: a key's validity period is still checked on every packet
against the current time (the caller does that), a key that is not in the list makes one fresh
look-up (so a newly registered key works at once), and a revoked key stops being accepted
within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from baobab.directory import ClientId, PublicKey
from baobab.identity.ports import KeyDirectory

DEFAULT_TTL = 5.0  # seconds


class CachedKeyDirectory:
    """A :class:`~baobab.identity.ports.KeyDirectory` in front of another, with a short TTL."""

    def __init__(
        self,
        keys: KeyDirectory,
        *,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._ttl = ttl
        self._monotonic = monotonic
        self._cached: dict[ClientId, tuple[float, Sequence[PublicKey]]] = {}
        self._lock = threading.Lock()

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        now = self._monotonic()
        with self._lock:
            cached = self._cached.get(client_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        return self.refresh(client_id)

    def refresh(self, client_id: ClientId) -> Sequence[PublicKey]:
        """Look again now (a packet names a key the cached list lacks)."""
        keys = tuple(self._keys.keys_of(client_id))
        with self._lock:
            self._cached[client_id] = (self._monotonic(), keys)
        return keys
