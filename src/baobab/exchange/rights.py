"""Access rights the exchange holds beside the directory's: rights on one endpoint of a service
(method and path pattern) and rights for groups of subsystems (X-Road's global groups).

The directory's ``AccessRight(client, ServiceRef(provider, code))`` still opens a whole service
to one subsystem. Here a right names a *subject* — one subsystem (``DEV/GOV/MOSA/benefits``) or a
group (``group:social-protection``) — and an endpoint: a method (``GET``, or ``*`` for any) and
a path pattern relative to the service, whose segments match literally, ``*`` matching one
segment and a final ``**`` matching the rest (``/births/*``, ``/**``). A call passes if either
kind of right allows it; with neither it is refused (deny by default).

The gateway asks :meth:`AccessPolicy.allows` on every message, from an in-memory snapshot of
every right and group, reloaded after ``ttl`` seconds and at once after a change made through
this process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Protocol

from baobab.directory import ClientId, Member, MemberId, ServiceRef, Subsystem
from baobab.exchange.domain import UnknownService
from baobab.kernel.audit import AuditEvent, AuditTrail
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Conflict, InvalidInput, NotFound
from baobab.kernel.ids import new_id

GROUP_PREFIX = "group:"
METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE")
_GROUP_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()+,;=:@%-]+|\*|\*\*")


class InvalidRight(InvalidInput):
    code = "exchange.invalid_right"
    title = "Invalid access right"


class UnknownGroup(NotFound):
    code = "exchange.unknown_group"
    title = "Unknown access group"


class DuplicateGroup(Conflict):
    code = "exchange.duplicate_group"
    title = "Access group already exists"


class UnknownRight(NotFound):
    code = "exchange.unknown_right"
    title = "Unknown access right"


class DuplicateRight(Conflict):
    code = "exchange.duplicate_right"
    title = "Access right already granted"


class UnknownGroupMember(NotFound):
    code = "exchange.unknown_subsystem"
    title = "Subsystem not in the directory"


class DisabledGroupMember(Conflict):
    code = "exchange.subsystem_disabled"
    title = "Subsystem disabled in the directory"


@dataclass(frozen=True, slots=True)
class AccessGroup:
    """A named set of subsystems that rights can be granted to."""

    code: str
    description: str
    created_at: datetime
    members: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not _GROUP_CODE.fullmatch(self.code):
            raise InvalidRight(f"invalid group code {self.code!r}: lower case, digits, . _ -")
        if len(self.description) > 500:
            raise InvalidRight("a group description is at most 500 characters")


@dataclass(frozen=True, slots=True)
class EndpointRight:
    """``subject`` (a subsystem id or ``group:<code>``) may call ``method path`` of a service."""

    right_id: str
    subject: str
    service: ServiceRef
    method: str
    path: str
    created_at: datetime
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.service.provider is None:
            raise InvalidRight("an endpoint right names a provider's service")
        if self.method not in METHODS:
            raise InvalidRight(f"method must be one of {', '.join(METHODS)}")
        if self.subject.startswith(GROUP_PREFIX):
            if not _GROUP_CODE.fullmatch(self.subject.removeprefix(GROUP_PREFIX)):
                raise InvalidRight(f"invalid group in subject {self.subject!r}")
        else:
            ClientId.parse(self.subject)
        object.__setattr__(self, "_pattern", _compile(self.path))

    def matches(self, method: str, path: str) -> bool:
        """True if a call ``method path`` (path without query) is within this right."""
        return (self.method in ("*", method.upper())) and bool(self._pattern.fullmatch(path))


def _compile(path: str) -> re.Pattern[str]:
    if not path.startswith("/") or len(path) > 1000:
        raise InvalidRight("a path pattern starts with / and is at most 1000 characters")
    segments = path[1:].split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        if segment == "" and index == len(segments) - 1:
            parts.append("")
            continue
        if not _SEGMENT.fullmatch(segment):
            raise InvalidRight(f"invalid path segment {segment!r} in {path!r}")
        if segment == "**":
            if index != len(segments) - 1:
                raise InvalidRight("** may only end a path pattern")
            return re.compile(re.escape("/" + "/".join(segments[:index])).rstrip("/") + "(/.*)?")
        parts.append("[^/]+" if segment == "*" else re.escape(segment))
    return re.compile("/" + "/".join(parts))


class RightsStore(Protocol):
    """Groups, their members and endpoint rights."""

    def add_group(self, group: AccessGroup) -> bool: ...

    def get_group(self, code: str) -> AccessGroup | None: ...

    def list_groups(self) -> Sequence[AccessGroup]: ...

    def set_member(self, code: str, client: str, *, member: bool) -> bool:
        """Add or remove ``client``; False if nothing changed."""
        ...

    def add_right(self, right: EndpointRight) -> bool: ...

    def remove_right(self, right_id: str) -> bool: ...

    def list_rights(self) -> Sequence[EndpointRight]: ...


class KnownServices(Protocol):
    def get_service(self, provider: ClientId, code: str) -> object | None: ...


class SubsystemDirectory(Protocol):
    """The directory's members and their subsystems (``DirectoryService`` is one); raises
    ``NotFound`` for an unknown member."""

    def get_member(self, member_id: MemberId) -> tuple[Member, Sequence[Subsystem]]: ...


class RightsUnitOfWork(Protocol):
    @property
    def rights(self) -> RightsStore: ...

    @property
    def services(self) -> KnownServices: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> RightsUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Snapshot:
    rights: dict[ServiceRef, tuple[EndpointRight, ...]]
    groups_of: dict[str, frozenset[str]]
    expires: float


def _subjects(snapshot: _Snapshot, client: ClientId) -> set[str]:
    """The names rights may give ``client``: its own id and ``group:<code>`` of its groups."""
    groups = snapshot.groups_of.get(str(client), frozenset())
    return {str(client)} | {GROUP_PREFIX + code for code in groups}


class AccessPolicy:
    """Manage groups and endpoint rights (audited) and decide calls from a cached snapshot."""

    def __init__(
        self,
        *,
        uow: Callable[[], RightsUnitOfWork],
        directory: SubsystemDirectory,
        clock: Clock,
        ttl: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._directory = directory
        self._clock = clock
        self._ttl = ttl
        self._monotonic = monotonic
        self._snapshot: _Snapshot | None = None

    # --- deciding -----------------------------------------------------------------------------

    def fresh(self) -> bool:
        """True if a decision needs no database read now (the gateway then stays on its loop)."""
        return self._snapshot is not None and self._snapshot.expires > self._monotonic()

    def allows(self, client: ClientId, service: ServiceRef, method: str, path: str) -> bool:
        """True if a right here lets ``client`` call ``method path`` of ``service``."""
        snapshot = self._current()
        candidates = snapshot.rights.get(service, ())
        if not candidates:
            return False
        subjects = _subjects(snapshot, client)
        return any(r.subject in subjects and r.matches(method, path) for r in candidates)

    def services_open_to(self, client: ClientId) -> set[ServiceRef]:
        """The services on which ``client`` or one of its groups holds some endpoint right."""
        snapshot = self._current()
        subjects = _subjects(snapshot, client)
        return {
            service
            for service, rights in snapshot.rights.items()
            if any(r.subject in subjects for r in rights)
        }

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and snapshot.expires > self._monotonic():
            return snapshot
        with self._uow() as uow:
            rights = uow.rights.list_rights()
            groups = uow.rights.list_groups()
        by_service: dict[ServiceRef, list[EndpointRight]] = {}
        for right in rights:
            by_service.setdefault(right.service, []).append(right)
        groups_of: dict[str, set[str]] = {}
        for group in groups:
            for member in group.members:
                groups_of.setdefault(member, set()).add(group.code)
        snapshot = _Snapshot(
            {k: tuple(v) for k, v in by_service.items()},
            {k: frozenset(v) for k, v in groups_of.items()},
            self._monotonic() + self._ttl,
        )
        self._snapshot = snapshot
        return snapshot

    # --- managing -----------------------------------------------------------------------------

    def create_group(self, *, actor: str, code: str, description: str = "") -> AccessGroup:
        group = AccessGroup(code, description, self._clock.now())
        with self._uow() as uow:
            if not uow.rights.add_group(group):
                raise DuplicateGroup(f"group {code} exists")
            self._audit(uow, "exchange.group_created", actor, GROUP_PREFIX + code)
        return group

    def set_member(self, *, actor: str, code: str, client: ClientId, member: bool) -> AccessGroup:
        """Add ``client`` to the group (``member=True``; it must be an enabled subsystem in the
        directory) or take it out (whatever the directory now says of it)."""
        if member:
            self._check_subsystem(client)
        with self._uow() as uow:
            if uow.rights.get_group(code) is None:
                raise UnknownGroup(f"no group {code}")
            if uow.rights.set_member(code, str(client), member=member):
                action = "added" if member else "removed"
                self._audit(
                    uow,
                    f"exchange.group_member_{action}",
                    actor,
                    GROUP_PREFIX + code,
                    client=str(client),
                )
            group = uow.rights.get_group(code)
        self._snapshot = None
        assert group is not None
        return group

    def _check_subsystem(self, client: ClientId) -> None:
        try:
            _, subsystems = self._directory.get_member(client.member)
        except NotFound as exc:
            raise UnknownGroupMember(f"no member {client.member} in the directory") from exc
        found = next((s for s in subsystems if s.id == client), None)
        if found is None:
            raise UnknownGroupMember(f"no subsystem {client} in the directory")
        if not found.enabled:
            raise DisabledGroupMember(f"subsystem {client} is disabled in the directory")

    def groups(self) -> Sequence[AccessGroup]:
        with self._uow() as uow:
            return uow.rights.list_groups()

    def grant(
        self, *, actor: str, subject: str, service: ServiceRef, method: str, path: str
    ) -> EndpointRight:
        """Let ``subject`` call ``method path`` of ``service``."""
        right = EndpointRight(new_id(), subject, service, method.upper(), path, self._clock.now())
        with self._uow() as uow:
            group = subject.removeprefix(GROUP_PREFIX)
            if subject.startswith(GROUP_PREFIX) and uow.rights.get_group(group) is None:
                raise UnknownGroup(f"no group {group}")
            assert service.provider is not None  # EndpointRight refused a platform scope
            if uow.services.get_service(service.provider, service.code) is None:
                raise UnknownService(f"no service {service.provider}/{service.code}")
            if not uow.rights.add_right(right):
                raise DuplicateRight(f"{subject} already holds {method} {path} on {service}")
            self._audit(
                uow,
                "exchange.right_granted",
                actor,
                f"{service.provider}/{service.code}",
                grantee=subject,
                endpoint=f"{right.method} {path}",
            )
        self._snapshot = None
        return right

    def revoke(self, *, actor: str, right_id: str) -> None:
        with self._uow() as uow:
            if not uow.rights.remove_right(right_id):
                raise UnknownRight(f"no right {right_id}")
            self._audit(uow, "exchange.right_revoked", actor, right_id)
        self._snapshot = None

    def rights(self) -> Sequence[EndpointRight]:
        with self._uow() as uow:
            return uow.rights.list_rights()

    def _audit(
        self, uow: RightsUnitOfWork, action: str, actor: str, target: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, target, details=details), at=self._clock.now())
