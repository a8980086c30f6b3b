"""The switch's questions to the directory, answered in process: a member's roles, and the
usable public keys of a subsystem (to verify ``FSPIOP-Signature``)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from baobab.directory import ClientId, DirectoryService, MemberId
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput, NotFound
from baobab.kernel.signing import VerificationKey, import_public_jwk


class DirectoryForSwitch:
    """Adapts :class:`DirectoryService` to the callables the switch takes.

    A subsystem's keys are kept for ``cache_seconds``: every signed FSPIOP request needs them,
    and reading and importing them each time cost a transaction and a key import per request.
    A revoked key is therefore refused at most that long after its revocation.
    """

    def __init__(
        self, directory: DirectoryService, clock: Clock, *, cache_seconds: float = 5.0
    ) -> None:
        self._directory = directory
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._keys: dict[str, tuple[float, list[VerificationKey]]] = {}

    def member_roles(self, member: str) -> frozenset[str] | None:
        """The roles of member ``INSTANCE/CLASS/CODE``; None if there is no such member."""
        try:
            found, _ = self._directory.get_member(MemberId.parse(member))
        except (NotFound, InvalidInput):
            return None
        return frozenset(role.value for role in found.roles)

    def keys_of(self, client_id: str) -> Sequence[VerificationKey]:
        """The keys of subsystem ``client_id`` that are usable now."""
        checked = time.monotonic()
        cached = self._keys.get(client_id)
        if cached is not None and checked - cached[0] < self._cache_seconds:
            return cached[1]
        now = self._clock.now()
        try:
            keys = self._directory.keys_of(ClientId.parse(client_id))
        except (NotFound, InvalidInput):
            return []
        usable = [import_public_jwk(key.jwk) for key in keys if key.usable_at(now)]
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[client_id] = (checked, usable)
        return usable
