"""The pub/sub tables and store (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from baobab.directory import ClientId
from baobab.exchange.pubsub import Event, Room, Subscription
from baobab.infra.database import UtcDateTime

metadata = MetaData()

rooms = Table(
    "exchange_rooms",
    metadata,
    Column("owner", String(265), primary_key=True),
    Column("room", String(100), primary_key=True),
    Column("ttl_seconds", Integer, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

event_types = Table(
    "exchange_event_types",
    metadata,
    Column("owner", String(265), primary_key=True),
    Column("room", String(100), primary_key=True),
    Column("event_type", String(100), primary_key=True),
    Column("schema", Text, nullable=False),
)

events = Table(
    "exchange_events",
    metadata,
    Column("owner", String(265), primary_key=True),
    Column("room", String(100), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("publisher", String(265), nullable=False),
    Column("payload", Text, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    UniqueConstraint("owner", "room", "event_id", name="uq_exchange_events_id"),
)

subscriptions = Table(
    "exchange_subscriptions",
    metadata,
    Column("subscription_id", String(40), primary_key=True),
    Column("owner", String(265), nullable=False),
    Column("room", String(100), nullable=False),
    Column("subscriber", String(265), nullable=False),
    Column("endpoint", String(2000)),
    Column("event_types", String(2000), nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(40)),  # the delivery worker pushing it now, until lease_until
    Column("lease_until", UtcDateTime),
)


def _room(row: Row[Any]) -> Room:
    return Room(
        ClientId.parse(row.owner),
        row.room,
        timedelta(seconds=row.ttl_seconds),
        int(row.last_sequence),
        row.created_at,
    )


def _event(row: Row[Any]) -> Event:
    return Event(
        ClientId.parse(row.owner),
        row.room,
        int(row.sequence),
        row.event_id,
        row.event_type,
        row.publisher,
        json.loads(row.payload),
        row.published_at,
        row.expires_at,
    )


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        row.subscription_id,
        ClientId.parse(row.owner),
        row.room,
        ClientId.parse(row.subscriber),
        row.endpoint,
        tuple(json.loads(row.event_types)),
        int(row.cursor),
        row.attempts,
        row.next_attempt_at,
        row.created_at,
        row.last_error,
    )


def _subscription_values(s: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": s.subscription_id,
        "owner": str(s.owner),
        "room": s.room,
        "subscriber": str(s.subscriber),
        "endpoint": s.endpoint,
        "event_types": json.dumps(list(s.event_types)),
        "cursor": s.cursor,
        "attempts": s.attempts,
        "next_attempt_at": s.next_attempt_at,
        "last_error": s.last_error,
        "created_at": s.created_at,
    }


class SqlPubSubStore:
    """Rooms, event types, events and subscriptions over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get_room(self, owner: ClientId, code: str, *, lock: bool = False) -> Room | None:
        query = select(rooms).where(rooms.c.owner == str(owner), rooms.c.room == code)
        if lock:  # publishers of one room line up here: one order per room
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return _room(row) if row else None

    def add_room(self, room: Room) -> bool:
        dialect_insert = (
            postgresql.insert if self._c.dialect.name == "postgresql" else sqlite.insert
        )
        statement = dialect_insert(rooms).values(
            owner=str(room.owner),
            room=room.code,
            ttl_seconds=int(room.ttl.total_seconds()),
            last_sequence=room.last_sequence,
            created_at=room.created_at,
        )
        inserted = self._c.execute(
            statement.on_conflict_do_nothing().returning(rooms.c.owner)
        ).first()
        return inserted is not None

    def set_last_sequence(self, owner: ClientId, code: str, sequence: int) -> None:
        self._c.execute(
            update(rooms)
            .where(rooms.c.owner == str(owner), rooms.c.room == code)
            .values(last_sequence=sequence)
        )

    def put_event_type(self, owner: ClientId, code: str, event_type: str, schema: str) -> None:
        key = (
            event_types.c.owner == str(owner),
            event_types.c.room == code,
            event_types.c.event_type == event_type,
        )
        self._c.execute(delete(event_types).where(*key))
        self._c.execute(
            insert(event_types).values(
                owner=str(owner), room=code, event_type=event_type, schema=schema
            )
        )

    def event_type_schema(self, owner: ClientId, code: str, event_type: str) -> str | None:
        value = self._c.execute(
            select(event_types.c.schema).where(
                event_types.c.owner == str(owner),
                event_types.c.room == code,
                event_types.c.event_type == event_type,
            )
        ).scalar()
        return str(value) if value is not None else None

    def find_event(self, owner: ClientId, code: str, event_id: str) -> Event | None:
        row = self._c.execute(
            select(events).where(
                events.c.owner == str(owner),
                events.c.room == code,
                events.c.event_id == event_id,
            )
        ).first()
        return _event(row) if row else None

    def add_event(self, event: Event) -> None:
        self._c.execute(
            insert(events).values(
                owner=str(event.owner),
                room=event.room,
                sequence=event.sequence,
                event_id=event.event_id,
                event_type=event.event_type,
                publisher=event.publisher,
                payload=json.dumps(dict(event.payload)),
                published_at=event.published_at,
                expires_at=event.expires_at,
            )
        )

    def events_after(
        self,
        owner: ClientId,
        code: str,
        sequence: int,
        *,
        types: Sequence[str],
        now: datetime,
        limit: int,
    ) -> Sequence[Event]:
        query = select(events).where(
            events.c.owner == str(owner),
            events.c.room == code,
            events.c.sequence > sequence,
            events.c.expires_at > now,
        )
        if types:
            query = query.where(events.c.event_type.in_(list(types)))
        rows = self._c.execute(query.order_by(events.c.sequence).limit(limit))
        return [_event(r) for r in rows]

    def purge_expired(self, now: datetime) -> int:
        return self._c.execute(delete(events).where(events.c.expires_at <= now)).rowcount

    def add_subscription(self, subscription: Subscription) -> None:
        self._c.execute(insert(subscriptions).values(**_subscription_values(subscription)))

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        row = self._c.execute(
            select(subscriptions).where(subscriptions.c.subscription_id == subscription_id)
        ).first()
        return _subscription(row) if row else None

    def save_subscription(self, subscription: Subscription) -> None:
        values = _subscription_values(subscription)
        self._c.execute(
            update(subscriptions)
            .where(subscriptions.c.subscription_id == values.pop("subscription_id"))
            .values(**values)
        )

    def remove_subscription(self, subscription_id: str) -> bool:
        result = self._c.execute(
            delete(subscriptions).where(subscriptions.c.subscription_id == subscription_id)
        )
        return result.rowcount == 1

    def claim_push_subscriptions(
        self, now: datetime, *, owner: str, until: datetime, limit: int
    ) -> Sequence[Subscription]:
        free = or_(subscriptions.c.lease_until.is_(None), subscriptions.c.lease_until <= now)
        due = (
            select(subscriptions.c.subscription_id)
            .where(
                subscriptions.c.endpoint.is_not(None),
                subscriptions.c.next_attempt_at <= now,
                free,
            )
            .order_by(subscriptions.c.next_attempt_at)
            .limit(limit)
        )
        candidates = list(self._c.execute(due).scalars())
        if not candidates:  # the idle turn only reads: no write lock taken every second
            return []
        # ``free`` is in the UPDATE too: on PostgreSQL a replica that waited for another's row
        # lock re-checks it on the row it then sees, and skips a subscription just claimed
        claim = (
            update(subscriptions)
            .where(subscriptions.c.subscription_id.in_(candidates), free)
            .values(lease_owner=owner, lease_until=until)
            .returning(*subscriptions.c)
        )
        claimed = [_subscription(r) for r in self._c.execute(claim)]
        return sorted(claimed, key=lambda s: (s.next_attempt_at, s.subscription_id))

    def renew_lease(
        self, subscription_id: str, *, owner: str, until: datetime
    ) -> Subscription | None:
        renewed = self._c.execute(
            self._leased(subscription_id, owner)
            .values(lease_until=until)
            .returning(*subscriptions.c)
        ).first()
        return _subscription(renewed) if renewed else None

    def advance_leased(
        self, subscription_id: str, *, owner: str, cursor: int, until: datetime
    ) -> bool:
        moved = self._c.execute(
            self._leased(subscription_id, owner).values(
                cursor=cursor, attempts=0, last_error=None, lease_until=until
            )
        )
        return moved.rowcount == 1

    def defer_leased(
        self, subscription_id: str, *, owner: str, attempts: int, at: datetime, error: str
    ) -> bool:
        deferred = self._c.execute(
            self._leased(subscription_id, owner).values(
                attempts=attempts,
                next_attempt_at=at,
                last_error=error,
                lease_owner=None,
                lease_until=None,
            )
        )
        return deferred.rowcount == 1

    def release_lease(self, subscription_id: str, *, owner: str) -> None:
        self._c.execute(
            self._leased(subscription_id, owner).values(lease_owner=None, lease_until=None)
        )

    @staticmethod
    def _leased(subscription_id: str, owner: str) -> Any:
        return update(subscriptions).where(
            subscriptions.c.subscription_id == subscription_id,
            subscriptions.c.lease_owner == owner,
        )
