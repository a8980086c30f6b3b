"""HTTP routes of pub/sub under ``/exchange/pubsub`` (added to the exchange's router)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from baobab.directory import ClientId, MemberId
from baobab.exchange.pubsub import Event, PubSub, Subscription
from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal

Caller = Annotated[Principal, Depends(require_scope("exchange:call"))]
ROOM = "/pubsub/rooms/{instance}/{member_class}/{member_code}/{subsystem_code}/{room}"


async def _owner(
    instance: str, member_class: str, member_code: str, subsystem_code: str
) -> ClientId:
    return ClientId(MemberId(instance, member_class, member_code), subsystem_code)


Owner = Annotated[ClientId, Depends(_owner)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoomIn(_Strict):
    room: str = Field(examples=["births"])
    ttl_seconds: int = Field(default=7 * 86400, ge=1)


class RoomOut(BaseModel):
    room: str
    ttl_seconds: int
    last_sequence: int
    created_at: datetime


class EventTypeIn(_Strict):
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema 2020-12")


class EventIn(_Strict):
    event_type: str
    payload: dict[str, Any]
    event_id: str | None = Field(default=None, description="Client-chosen, for idempotency")


class EventOut(BaseModel):
    room: str
    sequence: int
    event_id: str
    event_type: str
    publisher: str
    published_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls.model_validate(e.message())


class SubscriptionIn(_Strict):
    endpoint: str | None = Field(default=None, description="Webhook URL; omit to pull")
    event_types: list[str] = Field(default_factory=list, description="Empty: every type")


class SubscriptionOut(BaseModel):
    subscription_id: str
    room: str
    mode: str
    endpoint: str | None
    event_types: list[str]
    cursor: int
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(
            subscription_id=s.subscription_id,
            room=f"{s.owner}/{s.room}",
            mode="push" if s.endpoint else "pull",
            endpoint=s.endpoint,
            event_types=list(s.event_types),
            cursor=s.cursor,
            attempts=s.attempts,
            last_error=s.last_error,
        )


class AckIn(_Strict):
    up_to: int = Field(ge=0, description="Acknowledge every event up to this sequence")


class AckOut(BaseModel):
    cursor: int


def add_pubsub_routes(router: APIRouter, pubsub: PubSub) -> None:
    """Rooms, event types, publishing, subscriptions, pulling and acknowledging."""

    @router.post("/pubsub/rooms", response_model=RoomOut, status_code=201)
    def create_room(principal: Caller, body: RoomIn) -> RoomOut:
        """Create a room owned by the calling subsystem."""
        room = pubsub.create_room(
            owner=ClientId.parse(principal.client_id),
            code=body.room,
            ttl=timedelta(seconds=body.ttl_seconds),
        )
        return RoomOut(
            room=f"{room.owner}/{room.code}",
            ttl_seconds=body.ttl_seconds,
            last_sequence=room.last_sequence,
            created_at=room.created_at,
        )

    @router.put(ROOM + "/types/{event_type}", status_code=204)
    def define_event_type(
        principal: Caller, owner: Owner, room: str, event_type: str, body: EventTypeIn
    ) -> Response:
        """Define an event type of the room with the JSON Schema its payloads must match."""
        pubsub.define_type(
            actor=ClientId.parse(principal.client_id),
            owner=owner,
            room=room,
            event_type=event_type,
            schema=body.json_schema,
        )
        return Response(status_code=204)

    @router.post(ROOM + "/events", response_model=EventOut, status_code=201)
    def publish(principal: Caller, owner: Owner, room: str, body: EventIn) -> EventOut:
        """Publish an event (the room's owner only)."""
        event = pubsub.publish(
            actor=ClientId.parse(principal.client_id),
            owner=owner,
            room=room,
            event_type=body.event_type,
            payload=body.payload,
            event_id=body.event_id,
        )
        return EventOut.of(event)

    @router.post(ROOM + "/subscriptions", response_model=SubscriptionOut, status_code=201)
    def subscribe(
        principal: Caller, owner: Owner, room: str, body: SubscriptionIn
    ) -> SubscriptionOut:
        """Subscribe (needs a directory right on the room, as on a service of its owner)."""
        subscription = pubsub.subscribe(
            subscriber=ClientId.parse(principal.client_id),
            owner=owner,
            room=room,
            endpoint=body.endpoint,
            event_types=body.event_types,
        )
        return SubscriptionOut.of(subscription)

    @router.get("/pubsub/subscriptions/{subscription_id}/events", response_model=list[EventOut])
    def pull(principal: Caller, subscription_id: str, limit: int = 100) -> list[EventOut]:
        """The unacknowledged events, oldest first."""
        found = pubsub.pull(
            subscriber=ClientId.parse(principal.client_id),
            subscription_id=subscription_id,
            limit=limit,
        )
        return [EventOut.of(e) for e in found]

    @router.post("/pubsub/subscriptions/{subscription_id}/ack", response_model=AckOut)
    def acknowledge(principal: Caller, subscription_id: str, body: AckIn) -> AckOut:
        cursor = pubsub.acknowledge(
            subscriber=ClientId.parse(principal.client_id),
            subscription_id=subscription_id,
            up_to=body.up_to,
        )
        return AckOut(cursor=cursor)

    @router.delete("/pubsub/subscriptions/{subscription_id}", status_code=204)
    def unsubscribe(principal: Caller, subscription_id: str) -> Response:
        pubsub.unsubscribe(
            subscriber=ClientId.parse(principal.client_id), subscription_id=subscription_id
        )
        return Response(status_code=204)
