"""Hand-written in-memory fakes of the exchange's ports, with real rollback on error."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

from baobab.directory import (
    AccessDenied,
    ClientId,
    Member,
    MemberId,
    PublicKey,
    ServiceRef,
    Subsystem,
)
from baobab.exchange import ConsentAnswer, ConsentQuery, LogEntry, MessageRecord, Service
from baobab.exchange.domain import Checkpoint, MessageLogUnavailable, SealedBody
from baobab.exchange.ports import ProviderRequest, ProviderResponse
from baobab.exchange.rights import AccessGroup, EndpointRight
from baobab.kernel.audit import AuditEvent
from baobab.kernel.errors import NotFound
from baobab.kernel.hashchain import GENESIS

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class UnknownMember(NotFound):
    code = "directory.unknown_member"


@dataclass
class _State:
    services: dict[tuple[ClientId, str], Service] = field(default_factory=dict)
    entries: dict[int, LogEntry] = field(default_factory=dict)
    head: tuple[int, str] = (0, GENESIS)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    audit: list[tuple[AuditEvent, datetime]] = field(default_factory=list)
    bodies: list[SealedBody] = field(default_factory=list)
    stamps: dict[int, str] = field(default_factory=dict)
    groups: dict[str, AccessGroup] = field(default_factory=dict)
    rights: dict[str, EndpointRight] = field(default_factory=dict)


class FakeStore:
    def __init__(self, state: _State) -> None:
        self.s = state

    def get_service(self, provider: ClientId, code: str) -> Service | None:
        return self.s.services.get((provider, code))

    def add_service(self, service: Service) -> bool:
        key = (service.provider, service.code)
        if key in self.s.services:
            return False
        self.s.services[key] = service
        return True

    def save_service(self, service: Service) -> None:
        self.s.services[(service.provider, service.code)] = service

    def remove_service(self, provider: ClientId, code: str) -> bool:
        return self.s.services.pop((provider, code), None) is not None

    def list_services(self, provider: ClientId | None = None) -> Sequence[Service]:
        return [s for k, s in sorted(self.s.services.items()) if provider in (None, k[0])]

    def advance_head(self, count: int) -> tuple[int, str]:
        sequence, hash_ = self.s.head
        self.s.head = (sequence + count, hash_)
        return sequence, hash_

    def set_head_hash(self, sequence: int, hash_: str) -> None:
        self.s.head = (sequence, hash_)

    def head(self) -> tuple[int, str]:
        return self.s.head

    def insert_entries(self, entries: Sequence[LogEntry]) -> None:
        for entry in entries:
            assert entry.sequence not in self.s.entries
            self.s.entries[entry.sequence] = entry

    def entries(self, first: int, last: int) -> Sequence[LogEntry]:
        return [e for s, e in sorted(self.s.entries.items()) if first <= s <= last]

    def entry_hashes(self, first: int, last: int) -> Sequence[str]:
        return [e.hash for e in self.entries(first, last)]

    def find_entry(self, message_id: str) -> LogEntry | None:
        return next((e for e in self.s.entries.values() if e.message_id == message_id), None)

    def last_checkpoint(self) -> Checkpoint | None:
        return self.s.checkpoints[-1] if self.s.checkpoints else None

    def checkpoint_covering(self, sequence: int) -> Checkpoint | None:
        return next((c for c in self.s.checkpoints if c.first <= sequence <= c.last), None)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.s.checkpoints.append(checkpoint)

    def checkpoints(self) -> Sequence[Checkpoint]:
        return list(self.s.checkpoints)

    def insert_bodies(self, sealed: Sequence[SealedBody]) -> None:
        self.s.bodies.extend(sealed)

    def bodies_of(self, message_id: str) -> Sequence[SealedBody]:
        return [b for b in self.s.bodies if b.message_id == message_id]

    def unstamped_checkpoints(self, limit: int) -> Sequence[Checkpoint]:
        return [c for c in self.s.checkpoints if c.last not in self.s.stamps][:limit]

    def add_stamp(self, last: int, token: str, stamped_at: datetime) -> None:
        assert last not in self.s.stamps
        self.s.stamps[last] = token

    def stamps(self) -> dict[int, str]:
        return dict(self.s.stamps)

    def stamp_of(self, last: int) -> str | None:
        return self.s.stamps.get(last)


class FakeRights:
    def __init__(self, state: _State) -> None:
        self.s = state

    def add_group(self, group: AccessGroup) -> bool:
        if group.code in self.s.groups:
            return False
        self.s.groups[group.code] = group
        return True

    def get_group(self, code: str) -> AccessGroup | None:
        return self.s.groups.get(code)

    def list_groups(self) -> Sequence[AccessGroup]:
        return [g for _, g in sorted(self.s.groups.items())]

    def set_member(self, code: str, client: str, *, member: bool) -> bool:
        group = self.s.groups[code]
        if (client in group.members) == member:
            return False
        members = group.members | {client} if member else group.members - {client}
        self.s.groups[code] = replace(group, members=frozenset(members))
        return True

    def add_right(self, right: EndpointRight) -> bool:
        key = (right.subject, right.service, right.method, right.path)
        if any((r.subject, r.service, r.method, r.path) == key for r in self.s.rights.values()):
            return False
        self.s.rights[right.right_id] = right
        return True

    def remove_right(self, right_id: str) -> bool:
        return self.s.rights.pop(right_id, None) is not None

    def list_rights(self) -> Sequence[EndpointRight]:
        return list(self.s.rights.values())


class FakeAudit:
    def __init__(self, state: _State) -> None:
        self.s = state

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.s.audit.append((event, at))


class FakeUnitOfWork:
    """Works on a copy of the state; the copy replaces the state only if the block succeeds."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def __enter__(self) -> FakeUnitOfWork:
        self._work = copy.deepcopy(self._state)
        self.services = self.log = FakeStore(self._work)
        self.rights = FakeRights(self._work)
        self.audit = FakeAudit(self._work)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._state.__dict__.update(self._work.__dict__)


class FakeDirectory:
    """Access rights and keys as the directory would answer them."""

    def __init__(self) -> None:
        self.rights: set[tuple[ClientId, ServiceRef]] = set()
        self.keys: dict[ClientId, list[PublicKey]] = {}
        self.subsystems: dict[ClientId, bool] = {}  # registered subsystems: enabled?
        self.access_checks = 0

    def get_member(self, member_id: MemberId) -> tuple[Member, Sequence[Subsystem]]:
        subsystems = [
            Subsystem(client, enabled, EPOCH)
            for client, enabled in self.subsystems.items()
            if client.member == member_id
        ]
        if not subsystems:
            raise UnknownMember(f"no member {member_id}")
        return Member(member_id, str(member_id), frozenset(), EPOCH), subsystems

    def check_access(self, client_id: ClientId, service: ServiceRef) -> None:
        self.access_checks += 1
        if (client_id, service) not in self.rights:
            raise AccessDenied(f"{client_id} has no right to call {service}")

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        return self.keys.get(client_id, [])


class FakeConsent:
    """Answers from a set of allowed (individual, purpose, recipient); can be made to fail."""

    def __init__(self) -> None:
        self.allowed: set[tuple[str, str, str]] = set()
        self.queries: list[ConsentQuery] = []
        self.broken = False

    def check(self, query: ConsentQuery) -> ConsentAnswer:
        self.queries.append(query)
        if self.broken:
            raise RuntimeError("consent service down")
        ok = (query.individual, query.purpose, query.recipient) in self.allowed
        return ConsentAnswer(ok, "consent_given" if ok else "no_consent")


class FakeLog:
    """Keeps records in memory; ``broken`` makes every append fail."""

    def __init__(self) -> None:
        self.records: list[MessageRecord] = []
        self.broken = False

    async def append(self, record: MessageRecord) -> LogEntry:
        if self.broken:
            raise MessageLogUnavailable("the message log could not be written")
        self.records.append(record)
        return LogEntry(len(self.records), record.message_id, record.payload(), GENESIS, GENESIS)


class ScriptedProvider:
    """A provider that answers with whatever ``answer`` returns for the request, or raises."""

    def __init__(self) -> None:
        self.requests: list[ProviderRequest] = []
        self.status = 200
        self.body = b'{"ok":true}'
        self.extra_headers: dict[str, str] = {}
        self.failure: Exception | None = None
        self.sign: Callable[[ProviderRequest, int, bytes], dict[str, str]] | None = None
        self.closed = False

    async def send(
        self, request: ProviderRequest, *, timeout: float, max_body: int
    ) -> ProviderResponse:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        headers = {"content-type": "application/json"}
        if self.sign is not None:
            headers.update(self.sign(request, self.status, self.body))
        headers.update(self.extra_headers)
        return ProviderResponse(self.status, headers, self.body)

    async def aclose(self) -> None:
        self.closed = True
