"""The identity block's SQL store and unit of work (SQLAlchemy Core, SQLite and PostgreSQL).

Each part of the store lives in its own module; the tables are in
:mod:`baobab.identity.adapters.tables`, the hot-path reader of authentication in
:mod:`baobab.identity.adapters.reader`. Personal attributes are stored only sealed
(:mod:`baobab.identity.adapters.rows`).
"""

from __future__ import annotations

from types import TracebackType

from baobab.identity.adapters.crypto import FieldCipher
from baobab.identity.adapters.otp_store import OtpStore
from baobab.identity.adapters.packet_store import PacketStore
from baobab.identity.adapters.register_store import RegisterStore
from baobab.identity.adapters.review_store import ReviewStore
from baobab.identity.adapters.vid_store import VidStore
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database


class SqlIdentityStore(PacketStore, RegisterStore, ReviewStore, VidStore, OtpStore):
    """The identity store over one open transaction: each part in its own module."""


class SqlIdentityUnitOfWork:
    """One database transaction holding the identity store and the audit trail."""

    store: SqlIdentityStore
    audit: SqlAuditTrail

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def __enter__(self) -> SqlIdentityUnitOfWork:
        self._transaction = self._db.transaction()
        connection = self._transaction.__enter__()
        self.store = SqlIdentityStore(connection, self._cipher)
        self.audit = SqlAuditTrail(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._transaction.__exit__(exc_type, exc, tb)
