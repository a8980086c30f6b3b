"""The pub/sub delivery worker: pushes events to webhook subscribers in room order, at least
once. Its state is only the subscriptions' cursors, retry times and delivery leases in the
database, so a restarted gateway picks up where the last one stopped, and several replicas may
run it at once: a worker leases a subscription before it pushes (an atomic claim in the
database), moves the cursor only while it holds the lease, and lets it go when done, so no two
workers ever push one subscription's events at the same time or out of order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from baobab.exchange.domain import digest
from baobab.exchange.pubsub import Event, PubSubUnitOfWork, Subscription, WebhookSender
from baobab.kernel.clock import Clock
from baobab.kernel.hashchain import canonical_json
from baobab.kernel.ids import new_id

MAX_BACKOFF = timedelta(minutes=10)


class PushDelivery:
    """The delivery worker: pushes due subscriptions' events in order, moving each cursor only
    after the webhook accepted the event; a failure is retried after ``base * 2**attempts``
    (capped at ten minutes)."""

    def __init__(
        self,
        *,
        uow: Callable[[], PubSubUnitOfWork],
        sender: WebhookSender,
        clock: Clock,
        sign: Callable[[Mapping[str, Any]], str],
        base_backoff: timedelta = timedelta(seconds=1),
        batch: int = 100,
        lease: timedelta = timedelta(seconds=60),
        claim: int = 10,
    ) -> None:
        """``lease``: how long a claim holds a subscription without news from its worker; it is
        renewed after every accepted event, so it must exceed the webhook timeout."""
        self._uow = uow
        self._sender = sender
        self._clock = clock
        self._sign = sign
        self._base = base_backoff
        self._batch = batch
        self._lease = lease
        self._claim_limit = claim
        self.worker_id = new_id()

    async def deliver_due(self) -> int:
        """One pass over the due push subscriptions this worker can lease; returns how many
        events were accepted. Database work runs in a thread, so the serving event loop is
        never held."""
        claimed = await asyncio.to_thread(self._claim)
        delivered = 0
        for index, sub in enumerate(claimed):
            try:
                delivered += await self._deliver(sub)
            except BaseException:
                for left in claimed[index:]:
                    await asyncio.to_thread(self._release, left.subscription_id)
                raise
            await asyncio.to_thread(self._release, sub.subscription_id)
        return delivered

    def _claim(self) -> list[Subscription]:
        now = self._clock.now()
        with self._uow() as uow:
            return list(
                uow.pubsub.claim_push_subscriptions(
                    now, owner=self.worker_id, until=now + self._lease, limit=self._claim_limit
                )
            )

    def _renew(self, subscription_id: str) -> Subscription | None:
        """The subscription as stored now, if this worker still holds it."""
        until = self._clock.now() + self._lease
        with self._uow() as uow:
            return uow.pubsub.renew_lease(subscription_id, owner=self.worker_id, until=until)

    def _events(self, sub: Subscription) -> list[Event]:
        with self._uow() as uow:
            return list(
                uow.pubsub.events_after(
                    sub.owner,
                    sub.room,
                    sub.cursor,
                    types=sub.event_types,
                    now=self._clock.now(),
                    limit=self._batch,
                )
            )

    def _advance(self, subscription_id: str, cursor: int) -> bool:
        """Move the cursor (durable after each accepted event: at least once), only while this
        worker holds the lease; False if it lost it (then it stops pushing)."""
        until = self._clock.now() + self._lease
        with self._uow() as uow:
            return uow.pubsub.advance_leased(
                subscription_id, owner=self.worker_id, cursor=cursor, until=until
            )

    def _retry_later(self, sub: Subscription, failure: str) -> None:
        attempts = sub.attempts + 1
        wait = min(self._base * (2 ** min(attempts - 1, 20)), MAX_BACKOFF)
        with self._uow() as uow:
            uow.pubsub.defer_leased(
                sub.subscription_id,
                owner=self.worker_id,
                attempts=attempts,
                at=self._clock.now() + wait,
                error=failure,
            )

    def _release(self, subscription_id: str) -> None:
        with self._uow() as uow:
            uow.pubsub.release_lease(subscription_id, owner=self.worker_id)

    async def _deliver(self, claimed: Subscription) -> int:
        # the claim may have waited behind other subscriptions: re-read under a renewed lease
        sub = await asyncio.to_thread(self._renew, claimed.subscription_id)
        if sub is None:
            return 0
        events = await asyncio.to_thread(self._events, sub)
        delivered = 0
        for event in events:
            body = canonical_json(event.message())
            signature = self._sign({"event_id": event.event_id, "body": digest(body)})
            headers = {"content-type": "application/json", "x-baobab-event-signature": signature}
            if not await self._sender.deliver(str(sub.endpoint), body, headers):
                await asyncio.to_thread(
                    self._retry_later, sub, f"event {event.sequence} not accepted"
                )
                break
            delivered += 1
            if not await asyncio.to_thread(self._advance, sub.subscription_id, event.sequence):
                break
        return delivered
