"""The pub/sub delivery worker: pushes events to webhook subscribers in room order, at least
once. Its state is only the subscriptions' cursors and retry times in the database, so a restarted
gateway picks up where the last one stopped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from baobab.exchange.domain import digest
from baobab.exchange.pubsub import PubSubUnitOfWork, Subscription, WebhookSender
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
        """One pass over every due push subscription; returns how many events were accepted."""
        now = self._clock.now()
        with self._uow() as uow:
            due = list(uow.pubsub.due_push_subscriptions(now, 100))
        delivered = 0
        for sub in due:
            delivered += await self._deliver(sub)
        return delivered

    async def _deliver(self, sub: Subscription) -> int:
        with self._uow() as uow:
            events = uow.pubsub.events_after(
                sub.owner,
                sub.room,
                sub.cursor,
                types=sub.event_types,
                now=self._clock.now(),
                limit=self._batch,
            )
        delivered, cursor, failure = 0, sub.cursor, None
        for event in events:
            body = canonical_json(event.message())
            signature = self._sign({"event_id": event.event_id, "body": digest(body)})
            headers = {"content-type": "application/json", "x-baobab-event-signature": signature}
            if not await self._sender.deliver(str(sub.endpoint), body, headers):
                failure = f"event {event.sequence} not accepted"
                break
            cursor, delivered = event.sequence, delivered + 1
            with self._uow() as uow:  # durable after each accepted event: at least once
                current = uow.pubsub.get_subscription(sub.subscription_id)
                if current is None:
                    return delivered
                uow.pubsub.save_subscription(replace(current, cursor=cursor, attempts=0))
        if failure is not None:
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
        return delivered
