"""Push delivery with several gateway replicas: a worker leases a subscription before pushing,
so two workers never push one subscription's events at once; every event still arrives once,
in room order. The race itself runs on PostgreSQL, where it can fail for real."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from datetime import timedelta

import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.delivery import PushDelivery
from baobab.exchange.pubsub import WebhookSender
from baobab.kernel.clock import ManualClock
from tests.integration.exchange.conftest import Exchange
from tests.integration.exchange.test_pubsub import grant, publish, room


class CountingSubscriber:
    """Webhooks that note every push, and how many pushes to one endpoint overlap."""

    def __init__(self) -> None:
        self.received: dict[str, list[int]] = {}
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0

    async def deliver(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> bool:
        self.in_flight[endpoint] = self.in_flight.get(endpoint, 0) + 1
        if self.in_flight[endpoint] > 1:
            self.overlaps += 1
        await asyncio.sleep(0.002)  # lets the other replica run meanwhile (no time is asserted)
        self.received.setdefault(endpoint, []).append(int(json.loads(body)["sequence"]))
        self.in_flight[endpoint] -= 1
        return True


def worker(platform: Platform, sender: WebhookSender) -> PushDelivery:
    """One replica's delivery worker over the shared database."""
    db = platform.db
    return PushDelivery(
        uow=lambda: SqlExchangeUnitOfWork(db),
        sender=sender,
        clock=platform.clock,
        sign=lambda claims: platform.signer.encode(dict(claims)),
    )


def subscribe(exchange: Exchange, count: int) -> list[str]:
    endpoints = [f"https://mosa.example/hooks/{n}" for n in range(count)]
    for endpoint in endpoints:
        exchange.pubsub.subscribe(
            subscriber=exchange.ministry.client_id,
            owner=exchange.provider.client_id,
            room="births",
            endpoint=endpoint,
        )
    return endpoints


def test_a_leased_subscription_is_not_claimed_again_until_its_lease_runs_out(
    exchange: Exchange,
) -> None:
    room(exchange)
    grant(exchange)
    subscribe(exchange, 1)
    publish(exchange, 2)
    clock = exchange.platform.clock
    assert isinstance(clock, ManualClock)
    db = exchange.platform.db
    now = clock.now()
    with SqlExchangeUnitOfWork(db) as uow:
        (claimed,) = uow.pubsub.claim_push_subscriptions(
            now, owner="a", until=now + timedelta(seconds=60), limit=10
        )
    with SqlExchangeUnitOfWork(db) as uow:
        assert (
            uow.pubsub.claim_push_subscriptions(
                now, owner="b", until=now + timedelta(seconds=60), limit=10
            )
            == []
        )
    subscriber = CountingSubscriber()
    assert asyncio.run(worker(exchange.platform, subscriber).deliver_due()) == 0  # a holds it
    clock.advance(timedelta(seconds=61))  # a went silent: its lease runs out
    later = clock.now()
    with SqlExchangeUnitOfWork(db) as uow:
        (taken,) = uow.pubsub.claim_push_subscriptions(
            later, owner="b", until=later + timedelta(seconds=60), limit=10
        )
        assert taken.subscription_id == claimed.subscription_id
    with SqlExchangeUnitOfWork(db) as uow:  # a can no longer move the cursor
        assert not uow.pubsub.advance_leased(
            claimed.subscription_id, owner="a", cursor=1, until=later
        )
        assert uow.pubsub.renew_lease(claimed.subscription_id, owner="a", until=later) is None
        uow.pubsub.release_lease(claimed.subscription_id, owner="b")
    assert asyncio.run(worker(exchange.platform, subscriber).deliver_due()) == 2
    assert subscriber.received == {"https://mosa.example/hooks/0": [1, 2]}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_deliver_every_event_once_in_order(exchange: Exchange) -> None:
    room(exchange)
    grant(exchange)
    endpoints = subscribe(exchange, 4)
    publish(exchange, 5)
    subscriber = CountingSubscriber()
    replicas = [worker(exchange.platform, subscriber) for _ in range(2)]

    async def both() -> list[int]:
        return list(await asyncio.gather(*(r.deliver_due() for r in replicas)))

    counts = asyncio.run(both())
    assert sum(counts) == 4 * 5
    assert subscriber.overlaps == 0
    assert subscriber.received == {e: [1, 2, 3, 4, 5] for e in endpoints}
    assert asyncio.run(both()) == [0, 0]  # cursors moved, leases let go: nothing left


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_claim_waiting_on_another_replicas_lock_skips_what_it_took(exchange: Exchange) -> None:
    """Replica B reads the subscriptions as free while A's claim is not yet committed, then
    waits on A's row locks; once A commits, B must re-check the lease and take nothing."""
    room(exchange)
    grant(exchange)
    subscribe(exchange, 3)
    db, now = exchange.platform.db, exchange.platform.clock.now()
    until = now + timedelta(seconds=60)
    taken_by_b: list[str] = []

    def claim_b() -> None:
        with SqlExchangeUnitOfWork(db) as uow:
            found = uow.pubsub.claim_push_subscriptions(now, owner="b", until=until, limit=10)
            taken_by_b.extend(s.subscription_id for s in found)

    with SqlExchangeUnitOfWork(db) as uow:
        taken_by_a = uow.pubsub.claim_push_subscriptions(now, owner="a", until=until, limit=10)
        b = threading.Thread(target=claim_b)
        b.start()
        assert _blocked_on_a_lock(exchange), "replica B never waited for A's claim"
    b.join()
    assert len(taken_by_a) == 3
    assert taken_by_b == []


def _blocked_on_a_lock(exchange: Exchange) -> bool:
    """Wait (boundedly) until another session waits on a row lock of the subscriptions."""
    probe = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'UPDATE exchange_subscriptions%'"
    )
    for _ in range(1000):
        with exchange.platform.db.transaction() as connection:
            if connection.execute(probe).scalar():
                return True
        threading.Event().wait(0.005)
    return False


def test_a_worker_that_lost_its_lease_stops_pushing(exchange: Exchange) -> None:
    room(exchange)
    grant(exchange)
    (endpoint,) = subscribe(exchange, 1)
    publish(exchange, 3)
    platform_clock = exchange.platform.clock
    assert isinstance(platform_clock, ManualClock)
    clock, db = platform_clock, exchange.platform.db

    class StolenAfterFirst(CountingSubscriber):
        """Accepts the first event, during which another replica takes the lease over."""

        async def deliver(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> bool:
            accepted = await super().deliver(endpoint, body, headers)
            if sum(map(len, self.received.values())) == 1:
                clock.advance(timedelta(seconds=61))
                with SqlExchangeUnitOfWork(db) as uow:
                    later = clock.now()
                    assert uow.pubsub.claim_push_subscriptions(
                        later, owner="other", until=later + timedelta(seconds=60), limit=1
                    )
            return accepted

    subscriber = StolenAfterFirst()
    slow: PushDelivery = worker(exchange.platform, subscriber)
    assert asyncio.run(slow.deliver_due()) == 1  # it stopped: the cursor is the new holder's
    assert subscriber.received == {endpoint: [1]}
