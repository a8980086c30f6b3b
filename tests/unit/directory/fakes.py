"""Hand-written in-memory fakes of the directory's ports, with real rollback on error."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from baobab.directory import (
    AccessRight,
    ClientId,
    Member,
    MemberId,
    PublicKey,
    ServiceRef,
    Subsystem,
)
from baobab.kernel.audit import AuditEvent


@dataclass
class _State:
    members: dict[MemberId, Member] = field(default_factory=dict)
    subsystems: dict[ClientId, Subsystem] = field(default_factory=dict)
    keys: dict[str, PublicKey] = field(default_factory=dict)
    rights: dict[tuple[ClientId, ServiceRef], AccessRight] = field(default_factory=dict)
    assertions: dict[tuple[ClientId, str], datetime] = field(default_factory=dict)
    audit: list[tuple[AuditEvent, datetime]] = field(default_factory=list)


class FakeStore:
    def __init__(self, state: _State) -> None:
        self.s = state

    def get_member(self, member_id: MemberId) -> Member | None:
        return self.s.members.get(member_id)

    def add_member(self, member: Member) -> bool:
        if member.id in self.s.members:
            return False
        self.s.members[member.id] = member
        return True

    def list_members(self) -> Sequence[Member]:
        return sorted(self.s.members.values(), key=lambda m: str(m.id))

    def get_subsystem(self, client_id: ClientId) -> Subsystem | None:
        return self.s.subsystems.get(client_id)

    def add_subsystem(self, subsystem: Subsystem) -> bool:
        if subsystem.id in self.s.subsystems:
            return False
        self.s.subsystems[subsystem.id] = subsystem
        return True

    def save_subsystem(self, subsystem: Subsystem) -> None:
        self.s.subsystems[subsystem.id] = subsystem

    def list_subsystems(self, member_id: MemberId) -> Sequence[Subsystem]:
        return [s for s in self.s.subsystems.values() if s.id.member == member_id]

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        return [k for k in self.s.keys.values() if k.client_id == client_id]

    def find_key(self, kid: str) -> PublicKey | None:
        return self.s.keys.get(kid)

    def add_key(self, key: PublicKey) -> bool:
        if key.kid in self.s.keys:
            return False
        self.s.keys[key.kid] = key
        return True

    def save_key(self, key: PublicKey) -> None:
        self.s.keys[key.kid] = key

    def rights_of(self, client_id: ClientId) -> Sequence[AccessRight]:
        return [r for (c, _), r in self.s.rights.items() if c == client_id]

    def add_right(self, right: AccessRight) -> bool:
        key = (right.client, right.service)
        if key in self.s.rights:
            return False
        self.s.rights[key] = right
        return True

    def remove_right(self, client_id: ClientId, service: ServiceRef) -> bool:
        return self.s.rights.pop((client_id, service), None) is not None

    def list_rights(self) -> Sequence[AccessRight]:
        return list(self.s.rights.values())

    def use_assertion(self, client_id: ClientId, jti: str, expires_at: datetime) -> bool:
        if (client_id, jti) in self.s.assertions:
            return False
        self.s.assertions[(client_id, jti)] = expires_at
        return True

    def forget_assertions(self, expired_before: datetime) -> int:
        old = [k for k, v in self.s.assertions.items() if v < expired_before]
        for k in old:
            del self.s.assertions[k]
        return len(old)


class FakeAudit:
    def __init__(self, state: _State) -> None:
        self.s = state

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.s.audit.append((event, at))


class FakeUnitOfWork:
    """Works on a copy of the committed state; the copy becomes the state only on success."""

    def __init__(self, world: FakeDirectory) -> None:
        self._world = world

    def __enter__(self) -> FakeUnitOfWork:
        self._draft = copy.deepcopy(self._world.state)
        self.store = FakeStore(self._draft)
        self.audit = FakeAudit(self._draft)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._world.state = self._draft


class FakeDirectory:
    """The committed state and a unit-of-work factory over it."""

    def __init__(self) -> None:
        self.state = _State()

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def actions(self) -> list[str]:
        return [event.action for event, _ in self.state.audit]
