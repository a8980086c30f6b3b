"""Party lookup: ``/participants/{Type}/{ID}`` asks (or tells) which FSP owns an identifier,
``/parties/{Type}/{ID}`` asks the owning FSP about the party and passes its answer back.

Who owns an identifier is an oracle's answer, one oracle per party id type behind the
:class:`Oracle` port (the built-in one keeps them in the database). Everything answers by
callback: ``PUT /participants/...`` or ``PUT /parties/...`` (or ``.../error``) to the requester.

The hub keeps no record of a lookup: its callbacks go to ``send``, the outbox worker's
delivery from memory, and reach the outbox table only if they fail. An FSP whose lookup got no
answer (a hub that died meanwhile) asks again, as FSPIOP expects of a ``GET``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from baobab.kernel.clock import Clock
from baobab.switch.domain import Callback, EndpointType, Participant
from baobab.switch.fspiop import ErrorCode, FspiopError, error_body, valid_fsp_id
from baobab.switch.messages import Messages
from baobab.switch.participants import ParticipantService

PARTY_ID_TYPES = frozenset(
    {"MSISDN", "EMAIL", "PERSONAL_ID", "BUSINESS", "DEVICE", "ACCOUNT_ID", "IBAN", "ALIAS"}
)
_PARTY_ID = re.compile(r"[^\s/]{1,128}")


@dataclass(frozen=True, slots=True)
class PartyKey:
    """A party identifier: its type, its value and the optional sub-id (``""`` if none)."""

    type: str
    id: str
    sub_id: str = ""

    @classmethod
    def of(cls, party_type: str, party_id: str, sub_id: str | None = None) -> PartyKey:
        """Check the parts of a ``/{Type}/{ID}/{SubId}`` path; 3100 if one is wrong."""
        if party_type not in PARTY_ID_TYPES:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, f"unknown party id type {party_type!r}")
        for part in (party_id, sub_id or "x"):
            if not _PARTY_ID.fullmatch(part):
                raise FspiopError(ErrorCode.VALIDATION_ERROR, "a party id is 1-128 characters")
        return cls(party_type, party_id, sub_id or "")

    @property
    def path(self) -> str:
        return f"/{self.type}/{self.id}" + (f"/{self.sub_id}" if self.sub_id else "")

    def values(self) -> dict[str, str]:
        """The endpoint template placeholders of this party."""
        values = {"partyIdType": self.type, "partyIdentifier": self.id}
        if self.sub_id:
            values["partySubIdOrType"] = self.sub_id
        return values


class Oracle(Protocol):
    """Who owns party identifiers of one (or every) type."""

    def owner(self, party: PartyKey) -> str | None: ...

    def register(self, party: PartyKey, fsp_id: str, currency: str | None) -> str:
        """Record ``fsp_id`` as owner unless one is recorded; return the owner recorded."""
        ...

    def remove(self, party: PartyKey, fsp_id: str) -> bool: ...


class PartyService:
    """``/participants`` and ``/parties``. ``oracles`` maps a party id type to its oracle;
    ``default`` answers the other types."""

    def __init__(
        self,
        *,
        send: Callable[[Sequence[Callback]], None],
        participants: ParticipantService,
        default: Oracle,
        oracles: Mapping[str, Oracle] | None = None,
        messages: Messages,
        clock: Clock,
    ) -> None:
        self._deliver = send
        self._participants = participants
        self._default = default
        self._oracles = dict(oracles or {})
        self._messages = messages
        self._clock = clock

    def _oracle(self, party: PartyKey) -> Oracle:
        return self._oracles.get(party.type, self._default)

    def _send(self, *callbacks: Callback | None) -> None:
        ready = [c for c in callbacks if c is not None]
        if ready:
            self._deliver(ready)

    def _participant_answer(
        self, to: Participant, party: PartyKey, payload: dict[str, Any], now: datetime
    ) -> Callback | None:
        error = "errorInformation" in payload
        return self._messages.originate(
            to,
            EndpointType.PARTICIPANT_PUT_ERROR if error else EndpointType.PARTICIPANT_PUT,
            method="PUT",
            resource="participants",
            path=f"/participants{party.path}" + ("/error" if error else ""),
            payload=payload,
            at=now,
            **party.values(),
        )

    # --- /participants/{Type}/{ID} ---------------------------------------------------------

    def which_fsp(self, source: Participant, party: PartyKey) -> None:
        """GET: tell ``source`` which FSP owns ``party`` (3204 if none does)."""
        now = self._clock.now()
        owner = self._oracle(party).owner(party)
        payload = {"fspId": owner} if owner else error_body(ErrorCode.PARTY_NOT_FOUND)
        self._send(self._participant_answer(source, party, payload, now))

    def register(self, source: Participant, party: PartyKey, message: Mapping[str, Any]) -> None:
        """POST: ``source`` declares it owns ``party``; answered with the owner recorded."""
        fsp_id, currency = message.get("fspId"), message.get("currency")
        if not valid_fsp_id(fsp_id):
            raise FspiopError(ErrorCode.MISSING_ELEMENT, "fspId is missing or not an FSP id")
        if fsp_id != source.fsp_id:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "an FSP may register only itself")
        if currency is not None and currency not in source.currencies:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "the FSP does not hold that currency")
        owner = self._oracle(party).register(party, source.fsp_id, currency)
        now = self._clock.now()
        if owner != source.fsp_id:
            payload = error_body(
                ErrorCode.ADD_PARTY_INFORMATION_ERROR, "the party belongs to another FSP"
            )
        else:
            payload = {"fspId": owner}
        self._send(self._participant_answer(source, party, payload, now))

    def remove(self, source: Participant, party: PartyKey) -> None:
        """DELETE: ``source`` gives up ``party``."""
        now = self._clock.now()
        if self._oracle(party).remove(party, source.fsp_id):
            payload: dict[str, Any] = {"fspId": source.fsp_id}
        else:
            payload = error_body(ErrorCode.PARTY_NOT_FOUND)
        self._send(self._participant_answer(source, party, payload, now))

    # --- /parties/{Type}/{ID} --------------------------------------------------------------

    def ask(self, source: Participant, party: PartyKey, headers: Mapping[str, str]) -> None:
        """GET: pass the question to the owning FSP (3204 to ``source`` if there is none)."""
        now = self._clock.now()
        owner_id = self._oracle(party).owner(party)
        owner = self._participants.find(owner_id) if owner_id else None
        if owner is None or not owner.enabled:
            self._send(self._party_error(source, party, ErrorCode.PARTY_NOT_FOUND, now))
            return
        forwarded = {**headers, "fspiop-destination": owner.fsp_id}
        self._send(
            self._messages.forward(
                owner,
                EndpointType.PARTIES_GET,
                method="GET",
                headers=forwarded,
                body=b"",
                **party.values(),
            )
        )

    def answer(
        self,
        source: Participant,
        party: PartyKey,
        headers: Mapping[str, str],
        body: bytes,
        *,
        error: bool,
    ) -> None:
        """PUT (or PUT .../error): pass the owning FSP's answer to ``FSPIOP-Destination``."""
        destination = self._participants.find(headers.get("fspiop-destination", ""))
        if destination is None:
            raise FspiopError(
                ErrorCode.DESTINATION_FSP_ERROR, "FSPIOP-Destination is not a participant"
            )
        kind = EndpointType.PARTIES_PUT_ERROR if error else EndpointType.PARTIES_PUT
        self._send(
            self._messages.forward(
                destination, kind, method="PUT", headers=headers, body=body, **party.values()
            )
        )

    def _party_error(
        self, to: Participant, party: PartyKey, error: ErrorCode, now: datetime
    ) -> Callback | None:
        return self._messages.originate(
            to,
            EndpointType.PARTIES_PUT_ERROR,
            method="PUT",
            resource="parties",
            path=f"/parties{party.path}/error",
            payload=error_body(error),
            at=now,
            **party.values(),
        )
