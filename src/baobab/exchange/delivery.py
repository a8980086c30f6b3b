"""The pub/sub delivery worker: pushes events to webhook subscribers in room order, at least
once. Its state is only the subscriptions' cursors and retry times in the database, so a restarted
gateway picks up where the last one stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from baobab.exchange.domain import digest
from baobab.exchange.pubsub import Event, PubSubUnitOfWork, Subscription, WebhookSender
from baobab.kernel.clock import Clock
from baobab.kernel.hashchain import canonical_json

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
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._clock = clock
        self._sign = sign
        self._base = base_backoff
        self._batch = batch

    async def deliver_due(self) -> int:
        """One pass over every due push subscription; returns how many events were accepted.
        Database work runs in a thread, so the serving event loop is never held."""
        due = await asyncio.to_thread(self._due)
        delivered = 0
        for sub in due:
            delivered += await self._deliver(sub)
        return delivered

    def _due(self) -> list[Subscription]:
        with self._uow() as uow:
            return list(uow.pubsub.due_push_subscriptions(self._clock.now(), 100))

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
        """Move the cursor (durable after each accepted event: at least once)."""
        with self._uow() as uow:
            current = uow.pubsub.get_subscription(subscription_id)
            if current is None:
                return False
            uow.pubsub.save_subscription(replace(current, cursor=cursor, attempts=0))
        return True

    def _retry_later(self, sub: Subscription, failure: str) -> None:
        attempts = sub.attempts + 1
        wait = min(self._base * (2 ** min(attempts - 1, 20)), MAX_BACKOFF)
        with self._uow() as uow:
            current = uow.pubsub.get_subscription(sub.subscription_id)
            if current is not None:
                uow.pubsub.save_subscription(
                    replace(
                        current,
                        attempts=attempts,
                        next_attempt_at=self._clock.now() + wait,
                        last_error=failure,
                    )
                )

    async def _deliver(self, sub: Subscription) -> int:
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
