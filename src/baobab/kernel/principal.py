"""Who is calling: the authenticated subsystem behind a request, as the directory vouches for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``client_id`` is the X-Road style subsystem identifier ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``;
    ``scopes`` are the platform services its access token grants; ``roles`` are its member's roles.
    """

    client_id: str
    scopes: frozenset[str]
    roles: frozenset[str]
    token_id: str

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
