"""The hot-path reader of authentication: identities, VIDs and partner policies by key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from baobab.identity.adapters.crypto import FieldCipher
from baobab.identity.adapters.rows import factors, policy, unseal
from baobab.identity.domain import Identity, IdentityStatus, Vid, VidKind
from baobab.infra.database import Database

_IDENTITY_COLUMNS = (
    "uin, status, version, profile, packet_id, attributes, created_at, updated_at, locked_factors"
)
_VID_COLUMNS = "vid, uin, kind, created_at, expires_at, revoked_at, used_at"


def _timestamp(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: text without zone) made aware UTC."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)


class SqlIdentityReader:
    """Reads for authentication: keyed look-ups on the hot path, without a write transaction.

    Each thread keeps one database connection of its own and runs two fixed, parameterised
    statements on it directly (no statement building per call: that cost five times the
    look-up itself). The connections come from an engine of the reader's own: on SQLite the
    platform's engine opens every transaction with ``BEGIN IMMEDIATE`` (the write lock), and
    reads here must run beside the writers (WAL); on PostgreSQL they are autocommit.
    """

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._cipher = cipher
        self._sqlite = db.dialect == "sqlite"
        connect_args = {"check_same_thread": False} if self._sqlite else {}
        self._engine = create_engine(db.engine.url, poolclass=NullPool, connect_args=connect_args)
        mark = "?" if self._sqlite else "%s"
        self._identity_sql = (
            f"SELECT {_IDENTITY_COLUMNS} FROM identity_identities WHERE uin = {mark}"  # noqa: S608
        )
        self._vid_sql = f"SELECT {_VID_COLUMNS} FROM identity_vids WHERE vid = {mark}"  # noqa: S608
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _fetch(self, sql: str, key: str) -> tuple[Any, ...] | None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._engine.raw_connection()
            if not self._sqlite:
                connection.driver_connection.autocommit = True  # type: ignore[union-attr]
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, (key,))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(row) if row is not None else None

    def identity(self, uin: str) -> Identity | None:
        row = self._fetch(self._identity_sql, uin)
        if row is None:
            return None
        uin, status, version, profile, packet_id, sealed, created_at, updated_at, locked = row
        created, updated = _timestamp(created_at), _timestamp(updated_at)
        assert created is not None
        assert updated is not None
        return Identity(
            uin=uin,
            attributes=unseal(self._cipher, sealed, f"identity:{uin}"),
            profile=profile,
            status=IdentityStatus(status),
            version=version,
            created_at=created,
            updated_at=updated,
            packet_id=packet_id,
            locked_factors=factors(locked),
        )

    def vid(self, vid: str) -> Vid | None:
        row = self._fetch(self._vid_sql, vid)
        if row is None:
            return None
        created = _timestamp(row[3])
        assert created is not None
        return Vid(row[0], row[1], VidKind(row[2]), created, *(_timestamp(v) for v in row[4:]))

    def policy(self, partner: str) -> frozenset[str] | None:
        with self._engine.connect() as connection:
            return policy(connection, partner)

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._engine.dispose()
