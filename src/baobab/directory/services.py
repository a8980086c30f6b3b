"""Directory use cases: register members and subsystems, manage their keys and access rights.

Every change is audited in the same unit of work as the change itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from baobab.directory.domain import (
    AccessDenied,
    AccessRight,
    ClientId,
    DuplicateKey,
    DuplicateMember,
    DuplicateSubsystem,
    KeyStatus,
    Member,
    MemberId,
    PublicKey,
    Role,
    ServiceRef,
    Subsystem,
    UnknownKey,
    UnknownMember,
    UnknownRight,
    UnknownScope,
    UnknownSubsystem,
)
from baobab.directory.ports import DirectoryStore, DirectoryUnitOfWork, UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.signing import import_public_jwk

DIRECTORY_SCOPES: dict[str, str] = {
    "directory:read": "Read members, subsystems, public keys and access rights",
    "directory:admin": "Register members and subsystems, manage keys and access rights",
    "audit:read": "Read and verify the audit log",
}


class DirectoryService:
    """Admin use cases of the directory. ``actor`` is the client id (or console user) acting."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, scopes: Collection[str]) -> None:
        self._uow = uow
        self._clock = clock
        self._scopes = frozenset(scopes)

    @property
    def scopes(self) -> frozenset[str]:
        """Every platform scope a subsystem may be granted."""
        return self._scopes

    def _audit(
        self, uow: DirectoryUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())

    # --- members and subsystems ---------------------------------------------------------------

    def add_member(
        self, *, actor: str, member_id: MemberId, name: str, roles: Sequence[str]
    ) -> Member:
        """Register a member institution with its roles."""
        name = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(name) <= 200:
            raise InvalidInput("a member's name must be 1 to 200 characters")
        member = Member(member_id, name, Role.parse_all(tuple(roles)), self._clock.now())
        with self._uow() as uow:
            if not uow.store.add_member(member):
                raise DuplicateMember(f"member {member_id} is already registered")
            roles_text = ",".join(sorted(member.roles))
            self._audit(uow, "directory.member_added", actor, str(member_id), roles=roles_text)
        return member

    def get_member(self, member_id: MemberId) -> tuple[Member, Sequence[Subsystem]]:
        """A member and its subsystems."""
        with self._uow() as uow:
            member = _member(uow.store, member_id)
            return member, uow.store.list_subsystems(member_id)

    def list_members(self) -> Sequence[Member]:
        with self._uow() as uow:
            return uow.store.list_members()

    def add_subsystem(self, *, actor: str, client_id: ClientId) -> Subsystem:
        """Register a subsystem of an existing member."""
        subsystem = Subsystem(client_id, enabled=True, created_at=self._clock.now())
        with self._uow() as uow:
            _member(uow.store, client_id.member)
            if not uow.store.add_subsystem(subsystem):
                raise DuplicateSubsystem(f"subsystem {client_id} is already registered")
            self._audit(uow, "directory.subsystem_added", actor, str(client_id))
        return subsystem

    def set_enabled(self, *, actor: str, client_id: ClientId, enabled: bool) -> Subsystem:
        """Enable or disable a subsystem; a disabled one gets no new tokens."""
        with self._uow() as uow:
            subsystem = _subsystem(uow.store, client_id)
            changed = Subsystem(subsystem.id, enabled, subsystem.created_at)
            uow.store.save_subsystem(changed)
            action = "directory.subsystem_enabled" if enabled else "directory.subsystem_disabled"
            self._audit(uow, action, actor, str(client_id))
        return changed

    # --- keys ---------------------------------------------------------------------------------

    def add_key(self, *, actor: str, client_id: ClientId, jwk: dict[str, Any]) -> PublicKey:
        """Register a public key (JWK, Ed25519 or P-256) for a subsystem."""
        key = import_public_jwk(jwk)
        kid = key.kid
        with self._uow() as uow:
            _subsystem(uow.store, client_id)
            stored = PublicKey(
                kid, client_id, key.public, key.algorithms[0], KeyStatus.ACTIVE, self._clock.now()
            )
            if not uow.store.add_key(stored):
                raise DuplicateKey(f"key {kid} is already registered")
            self._audit(uow, "directory.key_added", actor, str(client_id), kid=kid)
        return stored

    def rotate_key(
        self, *, actor: str, client_id: ClientId, jwk: dict[str, Any], grace: timedelta
    ) -> PublicKey:
        """Add a new key and retire every active one after ``grace`` (in-flight assertions pass)."""
        if not timedelta(0) <= grace <= timedelta(days=30):
            raise InvalidInput("the grace period must be between 0 and 30 days")
        key = import_public_jwk(jwk)
        kid = key.kid
        now = self._clock.now()
        with self._uow() as uow:
            _subsystem(uow.store, client_id)
            for old in uow.store.keys_of(client_id):
                if old.status is KeyStatus.ACTIVE:
                    uow.store.save_key(old.retire(not_after=now + grace))
            stored = PublicKey(kid, client_id, key.public, key.algorithms[0], KeyStatus.ACTIVE, now)
            if not uow.store.add_key(stored):
                raise DuplicateKey(f"key {kid} is already registered")
            self._audit(
                uow,
                "directory.key_rotated",
                actor,
                str(client_id),
                kid=kid,
                grace_s=str(int(grace.total_seconds())),
            )
        return stored

    def revoke_key(self, *, actor: str, client_id: ClientId, kid: str) -> PublicKey:
        """Revoke a key at once: nothing signed with it is accepted any more."""
        with self._uow() as uow:
            key = uow.store.find_key(kid)
            if key is None or key.client_id != client_id:
                raise UnknownKey(f"subsystem {client_id} has no key {kid!r}")
            revoked = key.revoke(at=self._clock.now())
            uow.store.save_key(revoked)
            self._audit(uow, "directory.key_revoked", actor, str(client_id), kid=kid)
        return revoked

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        with self._uow() as uow:
            _subsystem(uow.store, client_id)
            return uow.store.keys_of(client_id)

    # --- access rights ------------------------------------------------------------------------

    def grant(self, *, actor: str, client_id: ClientId, service: ServiceRef) -> AccessRight:
        """Allow ``client_id`` to call ``service`` (a platform scope when the provider is None)."""
        self._check_service(service)
        right = AccessRight(client_id, service, self._clock.now())
        with self._uow() as uow:
            _subsystem(uow.store, client_id)
            if service.provider is not None:
                _subsystem(uow.store, service.provider)
            if uow.store.add_right(right):
                self._audit(
                    uow, "directory.right_granted", actor, str(client_id), service=str(service)
                )
        return right

    def revoke_right(self, *, actor: str, client_id: ClientId, service: ServiceRef) -> None:
        with self._uow() as uow:
            if not uow.store.remove_right(client_id, service):
                raise UnknownRight(f"{client_id} has no right to {service}")
            self._audit(uow, "directory.right_revoked", actor, str(client_id), service=str(service))

    def rights_of(self, client_id: ClientId) -> Sequence[AccessRight]:
        with self._uow() as uow:
            _subsystem(uow.store, client_id)
            return uow.store.rights_of(client_id)

    def list_rights(self) -> Sequence[AccessRight]:
        with self._uow() as uow:
            return uow.store.list_rights()

    def check_access(self, client_id: ClientId, service: ServiceRef) -> None:
        """Raise :class:`AccessDenied` unless ``client_id`` may call ``service``; default deny."""
        with self._uow() as uow:
            subsystem = uow.store.get_subsystem(client_id)
            allowed = (
                subsystem is not None
                and subsystem.enabled
                and any(r.service == service for r in uow.store.rights_of(client_id))
            )
        if not allowed:
            raise AccessDenied(f"{client_id} has no right to call {service}")

    def _check_service(self, service: ServiceRef) -> None:
        if service.provider is None and service.code not in self._scopes:
            known = ", ".join(sorted(self._scopes))
            raise UnknownScope(f"{service.code!r} is not a platform scope; known scopes: {known}")


def _member(store: DirectoryStore, member_id: MemberId) -> Member:
    member = store.get_member(member_id)
    if member is None:
        raise UnknownMember(f"no member {member_id}")
    return member


def _subsystem(store: DirectoryStore, client_id: ClientId) -> Subsystem:
    subsystem = store.get_subsystem(client_id)
    if subsystem is None:
        raise UnknownSubsystem(f"no subsystem {client_id}")
    return subsystem
