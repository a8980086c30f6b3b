"""The directory's tables and its SQL store (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)

from baobab.directory.domain import (
    AccessRight,
    ClientId,
    KeyStatus,
    Member,
    MemberId,
    PublicKey,
    Role,
    ServiceRef,
    Subsystem,
)
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database, UtcDateTime, insert_new

metadata = MetaData()

members = Table(
    "directory_members",
    metadata,
    Column("member_id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("roles", String(500), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

subsystems = Table(
    "directory_subsystems",
    metadata,
    Column("client_id", String(265), primary_key=True),
    Column(
        "member_id",
        String(200),
        ForeignKey("directory_members.member_id"),
        nullable=False,
        index=True,
    ),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

keys = Table(
    "directory_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column(
        "client_id",
        String(265),
        ForeignKey("directory_subsystems.client_id"),
        nullable=False,
        index=True,
    ),
    Column("jwk", Text, nullable=False),
    Column("alg", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

access_rights = Table(
    "directory_access_rights",
    metadata,
    Column(
        "client_id", String(265), ForeignKey("directory_subsystems.client_id"), primary_key=True
    ),
    Column("provider", String(265), primary_key=True),  # "" is the platform itself
    Column("service_code", String(100), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False),
)

used_assertions = Table(
    "directory_used_assertions",
    metadata,
    Column("client_id", String(265), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)


def _member(row: Row[Any]) -> Member:
    roles = frozenset(Role(r) for r in row.roles.split(",") if r)
    return Member(MemberId.parse(row.member_id), row.name, roles, row.created_at)


def _subsystem(row: Row[Any]) -> Subsystem:
    return Subsystem(ClientId.parse(row.client_id), row.enabled, row.created_at)


def _key(row: Row[Any]) -> PublicKey:
    return PublicKey(
        kid=row.kid,
        client_id=ClientId.parse(row.client_id),
        jwk=json.loads(row.jwk),
        alg=row.alg,
        status=KeyStatus(row.status),
        created_at=row.created_at,
        not_after=row.not_after,
        revoked_at=row.revoked_at,
    )


def _right(row: Row[Any]) -> AccessRight:
    provider = ClientId.parse(row.provider) if row.provider else None
    return AccessRight(
        ClientId.parse(row.client_id), ServiceRef(provider, row.service_code), row.granted_at
    )


class SqlDirectoryStore:
    """The directory store over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get_member(self, member_id: MemberId) -> Member | None:
        row = self._c.execute(select(members).where(members.c.member_id == str(member_id))).first()
        return _member(row) if row else None

    def add_member(self, member: Member) -> bool:
        values = {
            "member_id": str(member.id),
            "name": member.name,
            "roles": ",".join(sorted(member.roles)),
            "created_at": member.created_at,
        }
        return insert_new(self._c, members, values)

    def list_members(self) -> Sequence[Member]:
        return [_member(r) for r in self._c.execute(select(members).order_by(members.c.member_id))]

    def get_subsystem(self, client_id: ClientId) -> Subsystem | None:
        row = self._c.execute(
            select(subsystems).where(subsystems.c.client_id == str(client_id))
        ).first()
        return _subsystem(row) if row else None

    def add_subsystem(self, subsystem: Subsystem) -> bool:
        values = {
            "client_id": str(subsystem.id),
            "member_id": str(subsystem.id.member),
            "enabled": subsystem.enabled,
            "created_at": subsystem.created_at,
        }
        return insert_new(self._c, subsystems, values)

    def save_subsystem(self, subsystem: Subsystem) -> None:
        self._c.execute(
            update(subsystems)
            .where(subsystems.c.client_id == str(subsystem.id))
            .values(enabled=subsystem.enabled)
        )

    def list_subsystems(self, member_id: MemberId) -> Sequence[Subsystem]:
        query = (
            select(subsystems)
            .where(subsystems.c.member_id == str(member_id))
            .order_by(subsystems.c.client_id)
        )
        return [_subsystem(r) for r in self._c.execute(query)]

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        query = (
            select(keys)
            .where(keys.c.client_id == str(client_id))
            .order_by(keys.c.created_at, keys.c.kid)
        )
        return [_key(r) for r in self._c.execute(query)]

    def find_key(self, kid: str) -> PublicKey | None:
        row = self._c.execute(select(keys).where(keys.c.kid == kid)).first()
        return _key(row) if row else None

    def add_key(self, key: PublicKey) -> bool:
        values = {
            "kid": key.kid,
            "client_id": str(key.client_id),
            "jwk": json.dumps(key.jwk, sort_keys=True),
            "alg": key.alg,
            "status": key.status.value,
            "created_at": key.created_at,
            "not_after": key.not_after,
            "revoked_at": key.revoked_at,
        }
        return insert_new(self._c, keys, values)

    def save_key(self, key: PublicKey) -> None:
        self._c.execute(
            update(keys)
            .where(keys.c.kid == key.kid)
            .values(status=key.status.value, not_after=key.not_after, revoked_at=key.revoked_at)
        )

    def rights_of(self, client_id: ClientId) -> Sequence[AccessRight]:
        query = select(access_rights).where(access_rights.c.client_id == str(client_id))
        return [
            _right(r)
            for r in self._c.execute(
                query.order_by(access_rights.c.provider, access_rights.c.service_code)
            )
        ]

    def add_right(self, right: AccessRight) -> bool:
        values = {
            "client_id": str(right.client),
            "provider": str(right.service.provider or ""),
            "service_code": right.service.code,
            "granted_at": right.granted_at,
        }
        return insert_new(self._c, access_rights, values)

    def remove_right(self, client_id: ClientId, service: ServiceRef) -> bool:
        result = self._c.execute(
            delete(access_rights).where(
                access_rights.c.client_id == str(client_id),
                access_rights.c.provider == str(service.provider or ""),
                access_rights.c.service_code == service.code,
            )
        )
        return result.rowcount == 1

    def list_rights(self) -> Sequence[AccessRight]:
        query = select(access_rights).order_by(
            access_rights.c.client_id, access_rights.c.service_code
        )
        return [_right(r) for r in self._c.execute(query)]

    def use_assertion(self, client_id: ClientId, jti: str, expires_at: datetime) -> bool:
        values = {"client_id": str(client_id), "jti": jti, "expires_at": expires_at}
        return insert_new(self._c, used_assertions, values)

    def forget_assertions(self, expired_before: datetime) -> int:
        result = self._c.execute(
            delete(used_assertions).where(used_assertions.c.expires_at < expired_before)
        )
        return result.rowcount


class SqlDirectoryUnitOfWork:
    """One database transaction holding the directory store and the audit trail."""

    store: SqlDirectoryStore
    audit: SqlAuditTrail

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> SqlDirectoryUnitOfWork:
        self._transaction = self._db.transaction()
        connection = self._transaction.__enter__()
        self.store = SqlDirectoryStore(connection)
        self.audit = SqlAuditTrail(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._transaction.__exit__(exc_type, exc, tb)
