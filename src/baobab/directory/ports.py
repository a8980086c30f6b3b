"""What the directory needs from outside: its store, inside a unit of work with the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from baobab.directory.domain import (
    AccessRight,
    ClientId,
    Member,
    MemberId,
    PublicKey,
    ServiceRef,
    Subsystem,
)
from baobab.kernel.audit import AuditTrail


class DirectoryStore(Protocol):
    """Members, subsystems, keys, rights and used client assertions."""

    def get_member(self, member_id: MemberId) -> Member | None: ...

    def add_member(self, member: Member) -> bool:
        """Record a new one; False if one with the same id exists (also under concurrency)."""
        ...

    def list_members(self) -> Sequence[Member]: ...

    def get_subsystem(self, client_id: ClientId) -> Subsystem | None: ...

    def add_subsystem(self, subsystem: Subsystem) -> bool:
        """Record a new one; False if one with the same id exists (also under concurrency)."""
        ...

    def save_subsystem(self, subsystem: Subsystem) -> None: ...

    def list_subsystems(self, member_id: MemberId) -> Sequence[Subsystem]: ...

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]: ...

    def find_key(self, kid: str) -> PublicKey | None: ...

    def add_key(self, key: PublicKey) -> bool:
        """Record a new one; False if one with the same id exists (also under concurrency)."""
        ...

    def save_key(self, key: PublicKey) -> None: ...

    def rights_of(self, client_id: ClientId) -> Sequence[AccessRight]: ...

    def add_right(self, right: AccessRight) -> bool:
        """Record a right; False if it was already there."""
        ...

    def remove_right(self, client_id: ClientId, service: ServiceRef) -> bool:
        """Remove a right; False if there was none."""
        ...

    def list_rights(self) -> Sequence[AccessRight]: ...

    def use_assertion(self, client_id: ClientId, jti: str, expires_at: datetime) -> bool:
        """Remember a client assertion id until it expires; False if it was seen before."""
        ...

    def forget_assertions(self, expired_before: datetime) -> int: ...


class DirectoryUnitOfWork(Protocol):
    """One transaction over the store and the audit trail: commits on exit unless it raised."""

    @property
    def store(self) -> DirectoryStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> DirectoryUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], DirectoryUnitOfWork]
