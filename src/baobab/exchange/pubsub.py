"""Pub/sub (GovStack IM): rooms owned by a provider subsystem, event types with a JSON Schema,
publishing, and subscriptions that are pushed to (webhooks) or pulled from (with acknowledgement).

The events table is the durable outbox: an event is stored, numbered in its room, in the
publisher's transaction. Each subscription keeps a cursor, the last sequence it acknowledged (pull)
or that its webhook accepted (push); the cursor moves only after that, so every event is delivered
at least once — across subscriber outages and gateway restarts — and in room order (a failing
webhook holds back the events after it, retried with exponential backoff). Events expire after
their room's TTL and are then neither delivered nor kept.

Subscribing needs a directory access right on ``ServiceRef(owner, "room:<code>")`` (deny by
default);
only the room's owner publishes and defines event types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from baobab.directory import ClientId, ServiceRef
from baobab.exchange.ports import AccessRights
from baobab.kernel.audit import AuditEvent, AuditTrail
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from baobab.kernel.ids import new_id

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class UnknownRoom(NotFound):
    code = "exchange.unknown_room"
    title = "Unknown room"


class DuplicateRoom(Conflict):
    code = "exchange.duplicate_room"
    title = "Room already exists"


class UnknownEventType(InvalidInput):
    code = "exchange.unknown_event_type"
    title = "Event type not defined in this room"


class InvalidEvent(InvalidInput):
    code = "exchange.invalid_event"
    title = "Event does not match its type's schema"


class InvalidSchema(InvalidInput):
    code = "exchange.invalid_schema"
    title = "Not a valid JSON Schema"


class EventIdReused(Conflict):
    code = "exchange.event_id_reused"
    title = "Event id already used with another event"


class NotRoomOwner(Forbidden):
    code = "exchange.not_room_owner"
    title = "Only the room's owner may do this"


class UnknownSubscription(NotFound):
    code = "exchange.unknown_subscription"
    title = "Unknown subscription"


@dataclass(frozen=True, slots=True)
class Room:
    owner: ClientId
    code: str
    ttl: timedelta
    last_sequence: int
    created_at: datetime

    @property
    def ref(self) -> ServiceRef:
        """What a subscriber needs a directory right on: ``room:<code>`` of the owner (room
        codes hold no ``:``, so no right on a service ever reaches a room)."""
        return ServiceRef(self.owner, f"room:{self.code}")


@dataclass(frozen=True, slots=True)
class Event:
    owner: ClientId
    room: str
    sequence: int
    event_id: str
    event_type: str
    publisher: str
    payload: Mapping[str, Any]
    published_at: datetime
    expires_at: datetime

    def message(self) -> dict[str, Any]:
        """The JSON a subscriber receives."""
        return {
            "room": f"{self.owner}/{self.room}",
            "sequence": self.sequence,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "publisher": self.publisher,
            "published_at": self.published_at.isoformat(),
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    owner: ClientId
    room: str
    subscriber: ClientId
    endpoint: str | None  # None: pull
    event_types: tuple[str, ...]  # empty: every type
    cursor: int
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None


class PubSubStore(Protocol):
    def get_room(self, owner: ClientId, code: str, *, lock: bool = False) -> Room | None: ...

    def add_room(self, room: Room) -> bool: ...

    def set_last_sequence(self, owner: ClientId, code: str, sequence: int) -> None: ...

    def put_event_type(self, owner: ClientId, code: str, event_type: str, schema: str) -> None: ...

    def event_type_schema(self, owner: ClientId, code: str, event_type: str) -> str | None: ...

    def find_event(self, owner: ClientId, code: str, event_id: str) -> Event | None: ...

    def add_event(self, event: Event) -> None: ...

    def events_after(
        self,
        owner: ClientId,
        code: str,
        sequence: int,
        *,
        types: Sequence[str],
        now: datetime,
        limit: int,
    ) -> Sequence[Event]: ...

    def purge_expired(self, now: datetime) -> int: ...

    def add_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def save_subscription(self, subscription: Subscription) -> None: ...

    def remove_subscription(self, subscription_id: str) -> bool: ...

    def claim_push_subscriptions(
        self, now: datetime, *, owner: str, until: datetime, limit: int
    ) -> Sequence[Subscription]:
        """Lease to ``owner`` until ``until`` the push subscriptions that are due and not leased
        (or whose lease ran out), oldest due first; atomically, so that no two delivery workers
        ever hold one subscription."""
        ...

    def renew_lease(
        self, subscription_id: str, *, owner: str, until: datetime
    ) -> Subscription | None:
        """The subscription as stored now, its lease extended; None if ``owner`` lost it."""
        ...

    def advance_leased(
        self, subscription_id: str, *, owner: str, cursor: int, until: datetime
    ) -> bool:
        """Move the cursor (and extend the lease) if ``owner`` still holds the lease."""
        ...

    def defer_leased(
        self, subscription_id: str, *, owner: str, attempts: int, at: datetime, error: str
    ) -> bool:
        """Record a failed attempt, retry at ``at`` and let the lease go, if ``owner`` holds it."""
        ...

    def release_lease(self, subscription_id: str, *, owner: str) -> None: ...


class PubSubUnitOfWork(Protocol):
    @property
    def pubsub(self) -> PubSubStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> PubSubUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class WebhookSender(Protocol):
    """POSTs an event to a push subscriber; True if it answered 2xx in time."""

    async def deliver(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> bool: ...


def _code(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInput(f"invalid {kind} {value!r}")
    return value


class PubSub:
    """Rooms, event types, publishing, subscriptions and pulling."""

    def __init__(
        self,
        *,
        uow: Callable[[], PubSubUnitOfWork],
        access: AccessRights,
        clock: Clock,
        max_ttl: timedelta = timedelta(days=30),
    ) -> None:
        self._uow = uow
        self._access = access
        self._clock = clock
        self._max_ttl = max_ttl

    def create_room(self, *, owner: ClientId, code: str, ttl: timedelta) -> Room:
        """A room owned by ``owner``; events in it live for ``ttl``."""
        if not timedelta(seconds=1) <= ttl <= self._max_ttl:
            raise InvalidInput(f"a room's TTL is between 1 s and {self._max_ttl}")
        room = Room(owner, _code("room", code), ttl, 0, self._clock.now())
        with self._uow() as uow:
            if not uow.pubsub.add_room(room):
                raise DuplicateRoom(f"room {owner}/{code} exists")
            self._audit(uow, "exchange.room_created", str(owner), f"{owner}/{code}")
        return room

    def define_type(
        self, *, actor: ClientId, owner: ClientId, room: str, event_type: str, schema: Any
    ) -> None:
        """Define (or replace) an event type with the JSON Schema its payloads must match."""
        _code("event type", event_type)
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise InvalidSchema(f"not a JSON Schema (2020-12): {exc.message}") from exc
        with self._uow() as uow:
            self._owned_room(uow.pubsub, actor, owner, room)
            uow.pubsub.put_event_type(owner, room, event_type, json.dumps(schema))
            self._audit(
                uow, "exchange.event_type_defined", str(actor), f"{owner}/{room}", type=event_type
            )

    def publish(
        self,
        *,
        actor: ClientId,
        owner: ClientId,
        room: str,
        event_type: str,
        payload: Mapping[str, Any],
        event_id: str | None = None,
    ) -> Event:
        """Store an event, numbered after every earlier one in its room. The same ``event_id``
        and body returns the first event; another body with it is refused."""
        event_id = _code("event id", event_id) if event_id else new_id()
        now = self._clock.now()
        with self._uow() as uow:
            store = uow.pubsub
            current = self._owned_room(store, actor, owner, room, lock=True)
            existing = store.find_event(owner, room, event_id)
            if existing is not None:
                if existing.event_type != event_type or dict(existing.payload) != dict(payload):
                    raise EventIdReused(f"event id {event_id} was used for another event")
                return existing
            schema = store.event_type_schema(owner, room, event_type)
            if schema is None:
                raise UnknownEventType(f"{event_type!r} is not defined in {owner}/{room}")
            errors = sorted(Draft202012Validator(json.loads(schema)).iter_errors(payload), key=str)
            if errors:
                raise InvalidEvent(f"the payload does not match {event_type}: {errors[0].message}")
            event = Event(
                owner,
                room,
                current.last_sequence + 1,
                event_id,
                event_type,
                str(actor),
                dict(payload),
                now,
                now + current.ttl,
            )
            store.add_event(event)
            store.set_last_sequence(owner, room, event.sequence)
        return event

    def subscribe(
        self,
        *,
        subscriber: ClientId,
        owner: ClientId,
        room: str,
        endpoint: str | None,
        event_types: Sequence[str] = (),
    ) -> Subscription:
        """Subscribe to a room (push to ``endpoint``, or pull when it is None) from now on.
        Needs the subscriber's directory right on the room."""
        for event_type in event_types:
            _code("event type", event_type)
        if endpoint is not None and not re.fullmatch(r"https?://\S+", endpoint):
            raise InvalidInput("a push endpoint is an absolute http(s) URL")
        now = self._clock.now()
        with self._uow() as uow:
            current = uow.pubsub.get_room(owner, room)
            if current is None:
                raise UnknownRoom(f"no room {owner}/{room}")
        self._access.check_access(subscriber, current.ref)
        subscription = Subscription(
            new_id(),
            owner,
            room,
            subscriber,
            endpoint,
            tuple(event_types),
            current.last_sequence,
            0,
            now,
            now,
        )
        with self._uow() as uow:
            uow.pubsub.add_subscription(subscription)
            self._audit(
                uow,
                "exchange.subscribed",
                str(subscriber),
                f"{owner}/{room}",
                subscription=subscription.subscription_id,
            )
        return subscription

    def unsubscribe(self, *, subscriber: ClientId, subscription_id: str) -> None:
        with self._uow() as uow:
            self._own_subscription(uow.pubsub, subscriber, subscription_id)
            uow.pubsub.remove_subscription(subscription_id)

    def pull(self, *, subscriber: ClientId, subscription_id: str, limit: int = 100) -> list[Event]:
        """The unacknowledged events, oldest first; the same ones again until acknowledged."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("pull 1 to 1000 events at a time")
        with self._uow() as uow:
            sub = self._own_subscription(uow.pubsub, subscriber, subscription_id)
            return list(
                uow.pubsub.events_after(
                    sub.owner,
                    sub.room,
                    sub.cursor,
                    types=sub.event_types,
                    now=self._clock.now(),
                    limit=limit,
                )
            )

    def acknowledge(self, *, subscriber: ClientId, subscription_id: str, up_to: int) -> int:
        """Acknowledge every event up to sequence ``up_to``; returns the new cursor."""
        with self._uow() as uow:
            sub = self._own_subscription(uow.pubsub, subscriber, subscription_id)
            room = uow.pubsub.get_room(sub.owner, sub.room)
            if room is None or up_to > room.last_sequence:
                raise InvalidInput("cannot acknowledge events not yet published")
            cursor = max(sub.cursor, up_to)
            uow.pubsub.save_subscription(replace(sub, cursor=cursor))
        return cursor

    def purge(self) -> int:
        """Delete expired events; returns how many."""
        with self._uow() as uow:
            return uow.pubsub.purge_expired(self._clock.now())

    def _owned_room(
        self, store: PubSubStore, actor: ClientId, owner: ClientId, room: str, *, lock: bool = False
    ) -> Room:
        if actor != owner:
            raise NotRoomOwner(f"only {owner} publishes to and defines {owner}/{room}")
        found = store.get_room(owner, room, lock=lock)
        if found is None:
            raise UnknownRoom(f"no room {owner}/{room}")
        return found

    def _own_subscription(
        self, store: PubSubStore, subscriber: ClientId, subscription_id: str
    ) -> Subscription:
        sub = store.get_subscription(subscription_id)
        if sub is None or sub.subscriber != subscriber:
            raise UnknownSubscription(f"{subscriber} has no subscription {subscription_id}")
        return sub

    def _audit(
        self, uow: PubSubUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())
