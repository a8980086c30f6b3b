"""The pieces enrolment settles packets with: a caller's waiting packet (:class:`Ticket`), the
decision about it before anything is written (:class:`Plan`), and the rules for replays and
updates. Kept apart from :mod:`baobab.identity.services` so that module stays about the flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baobab.identity.domain import Identity, ReviewCase
from baobab.identity.errors import PacketConflict
from baobab.identity.packets import Enrolment, Packet


class Retry(Exception):
    def __init__(self, existing: Enrolment) -> None:
        self.existing = existing


class Replan(Exception):
    """A batch met something its plans did not foresee; its packets go again one by one."""


class Ticket:
    """A caller's packet waiting to be settled, and then its answer."""

    def __init__(self, caller: str, packet: Packet) -> None:
        self.caller = caller
        self.packet = packet
        self.settled = False
        self._result: Enrolment | None = None
        self._error: BaseException | None = None

    def succeed(self, enrolment: Enrolment) -> None:
        self._result, self.settled = enrolment, True

    def fail(self, error: BaseException) -> None:
        self._error, self.settled = error, True

    def answer(self) -> Enrolment:
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


@dataclass(slots=True)
class Plan:
    """What settling one packet will write, decided before the transaction opens."""

    ticket: Ticket
    enrolment: Enrolment
    case: ReviewCase | None
    identity: Identity | None
    view: Mapping[str, str]
    previous: Mapping[str, str] | None  # the person's gallery entry before an update


def same_or_conflict(existing: Enrolment, packet: Packet) -> Enrolment:
    if existing.digest != packet.digest or existing.enrolled_by != packet.enrolled_by:
        raise PacketConflict(
            f"packet id {packet.packet_id} was already used with different content"
        )
    return existing


def merged(current: Identity | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """An update names only what changes; ``null`` removes an optional field."""
    merged = dict(current.attributes) if current else {}
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def packet_from(enrolment: Enrolment, demographics: dict[str, Any]) -> Packet:
    return Packet(
        enrolment.packet_id,
        enrolment.kind,
        enrolment.uin,
        demographics,
        (),
        None,
        (),
        "",
        "",
        enrolment.enrolled_by,
        enrolment.digest,
    )
