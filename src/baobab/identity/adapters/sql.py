"""The identity block's tables and its SQL store (SQLAlchemy Core, SQLite and PostgreSQL).

Personal attributes (an identity's, each past version's, each packet's demographics) are stored
only sealed with AES-256-GCM (:mod:`baobab.identity.adapters.crypto`), bound to their row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
    update,
)
from sqlalchemy.pool import NullPool

from baobab.identity.adapters.crypto import FieldCipher
from baobab.identity.domain import (
    DuplicateCandidate,
    Enrolment,
    Identity,
    IdentityStatus,
    IdentityVersion,
    MatchOutcome,
    PacketKind,
    PacketState,
    ReviewCase,
    ReviewDecision,
    Transition,
    Vid,
    VidKind,
)
from baobab.identity.otp import OtpChallenge
from baobab.infra.audit import SqlAuditTrail
from baobab.infra.database import Database, UtcDateTime, insert_new

metadata = MetaData()

packets = Table(
    "identity_packets",
    metadata,
    Column("packet_id", String(100), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("enrolled_by", String(265), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("transitions", Text, nullable=False),
    Column("uin", String(32)),
    Column("duplicate_of", String(32)),
    Column("case_id", String(36)),
    Column("reason", String(500)),
    Column("demographics", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

identities = Table(
    "identity_identities",
    metadata,
    Column("uin", String(32), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile", String(100), nullable=False),
    Column("packet_id", String(100), nullable=False),
    Column("attributes", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

history = Table(
    "identity_history",
    metadata,
    Column("uin", String(32), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("packet_id", String(100), nullable=False),
    Column("attributes", LargeBinary, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

cases = Table(
    "identity_review_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("packet_id", String(100), nullable=False, unique=True),
    Column("candidates", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("is_open", Boolean, nullable=False, index=True),
    Column("decision", String(20)),
    Column("duplicate_of", String(32)),
    Column("reason", String(500)),
    Column("decided_by", String(300)),
    Column("decided_at", UtcDateTime),
)

vids = Table(
    "identity_vids",
    metadata,
    Column("vid", String(32), primary_key=True),
    Column("uin", String(32), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("used_at", UtcDateTime),
)

challenges = Table(
    "identity_otp_challenges",
    metadata,
    Column("otp_id", String(36), primary_key=True),
    Column("uin", String(32), nullable=False, index=True),
    Column("partner", String(265), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("used_at", UtcDateTime),
)

policies = Table(
    "identity_partner_policies",
    metadata,
    Column("partner", String(200), primary_key=True),
    Column("attributes", Text, nullable=False),
)

outbox = Table(
    "identity_dev_outbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("channel", String(10), nullable=False),
    Column("address", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)


def _seal(cipher: FieldCipher, value: Mapping[str, Any], context: str) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return cipher.seal(text.encode(), context=context.encode())


def _open(cipher: FieldCipher, sealed: bytes, context: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(cipher.open(bytes(sealed), context=context.encode()))
    return value


def _identity(cipher: FieldCipher, row: Row[Any]) -> Identity:
    return Identity(
        uin=row.uin,
        attributes=_open(cipher, row.attributes, f"identity:{row.uin}"),
        profile=row.profile,
        status=IdentityStatus(row.status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        packet_id=row.packet_id,
    )


def _enrolment(row: Row[Any]) -> Enrolment:
    return Enrolment(
        packet_id=row.packet_id,
        kind=PacketKind(row.kind),
        digest=row.digest,
        enrolled_by=row.enrolled_by,
        state=PacketState(row.state),
        transitions=tuple(
            Transition(PacketState(s), datetime.fromisoformat(at))
            for s, at in json.loads(row.transitions)
        ),
        uin=row.uin,
        duplicate_of=row.duplicate_of,
        case_id=row.case_id,
        reason=row.reason,
    )


def _enrolment_values(e: Enrolment) -> dict[str, Any]:
    return {
        "state": e.state.value,
        "transitions": json.dumps([[t.state.value, t.at.isoformat()] for t in e.transitions]),
        "uin": e.uin,
        "duplicate_of": e.duplicate_of,
        "case_id": e.case_id,
        "reason": e.reason,
    }


def _case(row: Row[Any]) -> ReviewCase:
    candidates = tuple(
        DuplicateCandidate(c["uin"], c["score"], MatchOutcome(c["outcome"]), c["field_levels"])
        for c in json.loads(row.candidates)
    )
    return ReviewCase(
        case_id=row.case_id,
        packet_id=row.packet_id,
        candidates=candidates,
        opened_at=row.opened_at,
        decision=ReviewDecision(row.decision) if row.decision else None,
        duplicate_of=row.duplicate_of,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _vid(row: Row[Any]) -> Vid:
    return Vid(
        row.vid,
        row.uin,
        VidKind(row.kind),
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.used_at,
    )


def _challenge(row: Row[Any]) -> OtpChallenge:
    return OtpChallenge(
        row.otp_id,
        row.uin,
        row.partner,
        row.channel,
        row.code_hash,
        row.created_at,
        row.expires_at,
        row.attempts,
        row.failures,
        row.used_at,
    )


class SqlIdentityStore:
    """The identity store over one open transaction."""

    def __init__(self, connection: Connection, cipher: FieldCipher) -> None:
        self._c = connection
        self._cipher = cipher

    # enrolments

    def get_enrolment(self, packet_id: str) -> Enrolment | None:
        row = self._c.execute(select(packets).where(packets.c.packet_id == packet_id)).first()
        return _enrolment(row) if row else None

    def add_enrolment(self, enrolment: Enrolment, demographics: Mapping[str, Any]) -> bool:
        values = {
            "packet_id": enrolment.packet_id,
            "kind": enrolment.kind.value,
            "digest": enrolment.digest,
            "enrolled_by": enrolment.enrolled_by,
            "demographics": _seal(self._cipher, demographics, f"packet:{enrolment.packet_id}"),
            "received_at": enrolment.transitions[0].at,
            **_enrolment_values(enrolment),
        }
        return insert_new(self._c, packets, values)

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self._c.execute(
            update(packets)
            .where(packets.c.packet_id == enrolment.packet_id)
            .values(**_enrolment_values(enrolment))
        )

    def packet_demographics(self, packet_id: str) -> dict[str, Any] | None:
        sealed = self._c.execute(
            select(packets.c.demographics).where(packets.c.packet_id == packet_id)
        ).scalar()
        return _open(self._cipher, sealed, f"packet:{packet_id}") if sealed is not None else None

    # identities

    def get_identity(self, uin: str, *, for_update: bool = False) -> Identity | None:
        query = select(identities).where(identities.c.uin == uin)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return _identity(self._cipher, row) if row else None

    def add_identity(self, identity: Identity) -> bool:
        sealed = _seal(self._cipher, identity.attributes, f"identity:{identity.uin}")
        values = {
            "uin": identity.uin,
            "status": identity.status.value,
            "version": identity.version,
            "profile": identity.profile,
            "packet_id": identity.packet_id,
            "attributes": sealed,
            "created_at": identity.created_at,
            "updated_at": identity.updated_at,
        }
        if not insert_new(self._c, identities, values):
            return False
        self._add_history(identity)
        return True

    def save_identity(self, identity: Identity) -> None:
        current = self._c.execute(
            select(identities.c.version).where(identities.c.uin == identity.uin)
        ).scalar()
        values: dict[str, Any] = {
            "status": identity.status.value,
            "updated_at": identity.updated_at,
        }
        if current != identity.version:
            values.update(
                version=identity.version,
                profile=identity.profile,
                packet_id=identity.packet_id,
                attributes=_seal(self._cipher, identity.attributes, f"identity:{identity.uin}"),
            )
            self._add_history(identity)
        self._c.execute(update(identities).where(identities.c.uin == identity.uin).values(**values))

    def _add_history(self, identity: Identity) -> None:
        context = f"history:{identity.uin}:{identity.version}"
        self._c.execute(
            history.insert().values(
                uin=identity.uin,
                version=identity.version,
                packet_id=identity.packet_id,
                attributes=_seal(self._cipher, identity.attributes, context),
                at=identity.updated_at,
            )
        )

    def history(self, uin: str) -> Sequence[IdentityVersion]:
        rows = self._c.execute(
            select(history).where(history.c.uin == uin).order_by(history.c.version)
        )
        return [
            IdentityVersion(
                r.uin,
                r.version,
                _open(self._cipher, r.attributes, f"history:{r.uin}:{r.version}"),
                r.packet_id,
                r.at,
            )
            for r in rows
        ]

    def identities(self) -> Iterator[Identity]:
        for row in self._c.execute(select(identities).order_by(identities.c.uin)).yield_per(2000):
            yield _identity(self._cipher, row)

    # review

    def add_case(self, case: ReviewCase) -> None:
        self._c.execute(
            cases.insert().values(
                case_id=case.case_id,
                packet_id=case.packet_id,
                candidates=json.dumps(
                    [
                        {
                            "uin": c.uin,
                            "score": c.score,
                            "outcome": c.outcome.value,
                            "field_levels": c.field_levels,
                        }
                        for c in case.candidates
                    ]
                ),
                opened_at=case.opened_at,
                is_open=case.open,
            )
        )

    def get_case(self, case_id: str, *, for_update: bool = False) -> ReviewCase | None:
        query = select(cases).where(cases.c.case_id == case_id)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return _case(row) if row else None

    def save_case(self, case: ReviewCase) -> None:
        self._c.execute(
            update(cases)
            .where(cases.c.case_id == case.case_id)
            .values(
                is_open=case.open,
                decision=case.decision.value if case.decision else None,
                duplicate_of=case.duplicate_of,
                reason=case.reason,
                decided_by=case.decided_by,
                decided_at=case.decided_at,
            )
        )

    def list_cases(self, *, open_only: bool, limit: int) -> Sequence[ReviewCase]:
        query = select(cases).order_by(cases.c.opened_at, cases.c.case_id).limit(limit)
        if open_only:
            query = query.where(cases.c.is_open.is_(True))
        return [_case(r) for r in self._c.execute(query)]

    # virtual IDs

    def add_vid(self, vid: Vid) -> bool:
        values = {
            "vid": vid.vid,
            "uin": vid.uin,
            "kind": vid.kind.value,
            "created_at": vid.created_at,
            "expires_at": vid.expires_at,
            "revoked_at": vid.revoked_at,
            "used_at": vid.used_at,
        }
        return insert_new(self._c, vids, values)

    def get_vid(self, vid: str, *, for_update: bool = False) -> Vid | None:
        query = select(vids).where(vids.c.vid == vid)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return _vid(row) if row else None

    def save_vid(self, vid: Vid) -> None:
        self._c.execute(
            update(vids)
            .where(vids.c.vid == vid.vid)
            .values(revoked_at=vid.revoked_at, used_at=vid.used_at)
        )

    def vids_of(self, uin: str) -> Sequence[Vid]:
        query = select(vids).where(vids.c.uin == uin).order_by(vids.c.created_at, vids.c.vid)
        return [_vid(r) for r in self._c.execute(query)]

    # OTP

    def add_challenge(self, challenge: OtpChallenge) -> None:
        self._c.execute(
            challenges.insert().values(
                otp_id=challenge.transaction_id,
                uin=challenge.uin,
                partner=challenge.partner,
                channel=challenge.channel,
                code_hash=challenge.code_hash,
                created_at=challenge.created_at,
                expires_at=challenge.expires_at,
                attempts=challenge.attempts,
                failures=challenge.failures,
                used_at=challenge.used_at,
            )
        )

    def get_challenge(self, transaction_id: str) -> OtpChallenge | None:
        query = select(challenges).where(challenges.c.otp_id == transaction_id).with_for_update()
        row = self._c.execute(query).first()
        return _challenge(row) if row else None

    def save_challenge(self, challenge: OtpChallenge) -> None:
        self._c.execute(
            update(challenges)
            .where(challenges.c.otp_id == challenge.transaction_id)
            .values(
                attempts=challenge.attempts, failures=challenge.failures, used_at=challenge.used_at
            )
        )

    def count_challenges(
        self, *, since: datetime, uin: str | None = None, partner: str | None = None
    ) -> int:
        query = select(func.count()).select_from(challenges).where(challenges.c.created_at > since)
        if uin is not None:
            query = query.where(challenges.c.uin == uin)
        if partner is not None:
            query = query.where(challenges.c.partner == partner)
        return int(self._c.execute(query).scalar_one())

    def failures_since(self, uin: str, since: datetime) -> int:
        query = select(func.coalesce(func.sum(challenges.c.failures), 0)).where(
            challenges.c.uin == uin, challenges.c.created_at > since
        )
        return int(self._c.execute(query).scalar_one())

    # partner policies

    def set_policy(self, partner: str, attributes: frozenset[str]) -> None:
        text = ",".join(sorted(attributes))
        if not insert_new(self._c, policies, {"partner": partner, "attributes": text}):
            self._c.execute(
                update(policies).where(policies.c.partner == partner).values(attributes=text)
            )

    def get_policy(self, partner: str) -> frozenset[str] | None:
        return _policy(self._c, partner)


def _policy(connection: Connection, partner: str) -> frozenset[str] | None:
    text = connection.execute(
        select(policies.c.attributes).where(policies.c.partner == partner)
    ).scalar()
    if text is None:
        return None
    return frozenset(a for a in text.split(",") if a)


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


_IDENTITY_COLUMNS = "uin, status, version, profile, packet_id, attributes, created_at, updated_at"
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
        uin, status, version, profile, packet_id, sealed, created_at, updated_at = row
        created, updated = _timestamp(created_at), _timestamp(updated_at)
        assert created is not None
        assert updated is not None
        return Identity(
            uin=uin,
            attributes=_open(self._cipher, sealed, f"identity:{uin}"),
            profile=profile,
            status=IdentityStatus(status),
            version=version,
            created_at=created,
            updated_at=updated,
            packet_id=packet_id,
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
            return _policy(connection, partner)

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._engine.dispose()
