"""Pub/sub on SQLite and PostgreSQL: rooms and typed events, deny by default, pull with
acknowledgement, TTL, and push delivery that reaches every event, in order, at least once
across a subscriber outage and a gateway restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import timedelta

import pytest

from baobab.bootstrap import Platform
from baobab.directory import AccessDenied, ServiceRef
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.delivery import PushDelivery
from baobab.exchange.domain import digest
from baobab.exchange.pubsub import (
    EventIdReused,
    InvalidEvent,
    InvalidSchema,
    NotRoomOwner,
    UnknownEventType,
    UnknownSubscription,
)
from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.signing import parse_compact
from tests.integration.exchange.conftest import Exchange

BIRTH = {
    "type": "object",
    "required": ["certificate"],
    "properties": {"certificate": {"type": "string"}},
    "additionalProperties": False,
}


def room(exchange: Exchange, ttl: timedelta = timedelta(hours=1)) -> None:
    owner = exchange.provider.client_id
    exchange.pubsub.create_room(owner=owner, code="births", ttl=ttl)
    exchange.pubsub.define_type(
        actor=owner, owner=owner, room="births", event_type="birth.registered", schema=BIRTH
    )


def publish(exchange: Exchange, n: int) -> None:
    owner = exchange.provider.client_id
    for i in range(n):
        exchange.pubsub.publish(
            actor=owner,
            owner=owner,
            room="births",
            event_type="birth.registered",
            payload={"certificate": f"B-{i}"},
        )


def grant(exchange: Exchange) -> None:
    exchange.platform.directory.grant(
        actor="test",
        client_id=exchange.ministry.client_id,
        service=ServiceRef(exchange.provider.client_id, "room:births"),
    )


def test_publishing_checks_owner_type_schema_and_event_id(exchange: Exchange) -> None:
    room(exchange)
    owner, pubsub = exchange.provider.client_id, exchange.pubsub
    first = pubsub.publish(
        actor=owner,
        owner=owner,
        room="births",
        event_type="birth.registered",
        payload={"certificate": "B-1"},
        event_id="ev-1",
    )
    again = pubsub.publish(
        actor=owner,
        owner=owner,
        room="births",
        event_type="birth.registered",
        payload={"certificate": "B-1"},
        event_id="ev-1",
    )
    assert again.sequence == first.sequence == 1
    with pytest.raises(EventIdReused):
        pubsub.publish(
            actor=owner,
            owner=owner,
            room="births",
            event_type="birth.registered",
            payload={"certificate": "B-2"},
            event_id="ev-1",
        )
    with pytest.raises(InvalidEvent):
        pubsub.publish(
            actor=owner,
            owner=owner,
            room="births",
            event_type="birth.registered",
            payload={"certificate": 7},
        )
    with pytest.raises(UnknownEventType):
        pubsub.publish(actor=owner, owner=owner, room="births", event_type="death", payload={})
    with pytest.raises(NotRoomOwner):
        pubsub.publish(
            actor=exchange.ministry.client_id,
            owner=owner,
            room="births",
            event_type="birth.registered",
            payload={"certificate": "B-3"},
        )
    with pytest.raises(InvalidSchema):
        pubsub.define_type(
            actor=owner, owner=owner, room="births", event_type="x", schema={"type": 12}
        )


def test_subscribing_needs_a_right(exchange: Exchange) -> None:
    room(exchange)
    with pytest.raises(AccessDenied):
        exchange.pubsub.subscribe(
            subscriber=exchange.ministry.client_id,
            owner=exchange.provider.client_id,
            room="births",
            endpoint=None,
        )


def test_pull_returns_unacknowledged_events_in_order(exchange: Exchange) -> None:
    room(exchange)
    grant(exchange)
    ministry = exchange.ministry.client_id
    sub = exchange.pubsub.subscribe(
        subscriber=ministry, owner=exchange.provider.client_id, room="births", endpoint=None
    )
    publish(exchange, 4)
    pulled = exchange.pubsub.pull(subscriber=ministry, subscription_id=sub.subscription_id)
    assert [e.sequence for e in pulled] == [1, 2, 3, 4]
    again = exchange.pubsub.pull(subscriber=ministry, subscription_id=sub.subscription_id)
    assert [e.sequence for e in again] == [1, 2, 3, 4]  # at least once: until acknowledged
    exchange.pubsub.acknowledge(subscriber=ministry, subscription_id=sub.subscription_id, up_to=2)
    rest = exchange.pubsub.pull(subscriber=ministry, subscription_id=sub.subscription_id)
    assert [e.payload["certificate"] for e in rest] == ["B-2", "B-3"]
    with pytest.raises(InvalidInput):
        exchange.pubsub.acknowledge(
            subscriber=ministry, subscription_id=sub.subscription_id, up_to=9
        )
    with pytest.raises(UnknownSubscription):
        exchange.pubsub.pull(
            subscriber=exchange.provider.client_id, subscription_id=sub.subscription_id
        )


def test_expired_events_are_neither_delivered_nor_kept(exchange: Exchange) -> None:
    room(exchange, ttl=timedelta(minutes=5))
    grant(exchange)
    ministry = exchange.ministry.client_id
    sub = exchange.pubsub.subscribe(
        subscriber=ministry, owner=exchange.provider.client_id, room="births", endpoint=None
    )
    publish(exchange, 2)
    clock = exchange.platform.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=6))
    assert exchange.pubsub.pull(subscriber=ministry, subscription_id=sub.subscription_id) == []
    assert exchange.pubsub.purge() == 2


class Subscriber:
    """A webhook that can be down, and remembers what it accepted."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[dict[str, object]] = []
        self.signatures: list[tuple[str, bytes]] = []

    async def deliver(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> bool:
        if self.down:
            return False
        self.received.append(json.loads(body))
        self.signatures.append((headers["x-baobab-event-signature"], body))
        return True


def worker(platform: Platform, subscriber: Subscriber) -> PushDelivery:
    """A fresh worker over the same database: what a restarted gateway process builds."""
    db = platform.db
    return PushDelivery(
        uow=lambda: SqlExchangeUnitOfWork(db),
        sender=subscriber,
        clock=platform.clock,
        sign=lambda claims: platform.signer.encode(dict(claims)),
    )


def test_push_reaches_every_event_in_order_across_an_outage_and_a_restart(
    exchange: Exchange,
) -> None:
    room(exchange)
    grant(exchange)
    clock = exchange.platform.clock
    assert isinstance(clock, ManualClock)
    sub = exchange.pubsub.subscribe(
        subscriber=exchange.ministry.client_id,
        owner=exchange.provider.client_id,
        room="births",
        endpoint="https://mosa.example/hooks/births",
    )
    subscriber = Subscriber()
    publish(exchange, 3)
    assert asyncio.run(worker(exchange.platform, subscriber).deliver_due()) == 3
    subscriber.down = True
    publish(exchange, 4)
    first = worker(exchange.platform, subscriber)
    assert asyncio.run(first.deliver_due()) == 0
    assert asyncio.run(first.deliver_due()) == 0  # not due again before its backoff
    clock.advance(timedelta(seconds=1))
    assert asyncio.run(first.deliver_due()) == 0  # second failure: backoff doubles
    clock.advance(timedelta(seconds=1))
    assert asyncio.run(first.deliver_due()) == 0
    with SqlExchangeUnitOfWork(exchange.platform.db) as uow:
        stored = uow.pubsub.get_subscription(sub.subscription_id)
    assert stored is not None
    assert (stored.attempts, stored.cursor) == (2, 3)
    assert stored.next_attempt_at == clock.now() + timedelta(seconds=1)
    subscriber.down = False
    del first  # the gateway restarts; nothing but the database survives
    clock.advance(timedelta(seconds=2))
    assert asyncio.run(worker(exchange.platform, subscriber).deliver_due()) == 4
    assert [e["sequence"] for e in subscriber.received] == [1, 2, 3, 4, 5, 6, 7]
    key = exchange.platform.signer.verification_key
    for signature, body in subscriber.signatures:
        jws = parse_compact(signature)
        assert jws.verified_by(key)
        assert jws.claims()["body"] == digest(body)
    assert asyncio.run(worker(exchange.platform, subscriber).deliver_due()) == 0
    assert sub.endpoint is not None
