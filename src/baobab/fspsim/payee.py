"""The simulated FSP as a payee: it answers party lookups for the parties it holds, quotes with
an ILP payment request it can later fulfil, and transfers with the fulfilment — or refuses, answers
late or never, or sends a wrong fulfilment, as its :class:`Behaviour` says.

Every answer goes back to the hub as a callback after the request was acknowledged, as FSPIOP
does; each runs as its own task so a slow or absent answer holds nothing else up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from baobab.fspsim.conditions import IssuedPackets, fulfilment_for, payment_request
from baobab.fspsim.config import SimulatorConfig
from baobab.fspsim.hub import HubClient, HubRefused
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.money import Money
from baobab.switch.fspiop import (
    ErrorCode,
    condition_of,
    datetime_text,
    error_body,
    money_json,
    money_of,
    new_fulfilment,
    parse_datetime_text,
    read_ilp_prepare_packet,
)

log = logging.getLogger(__name__)


class Payee:
    """Answers the hub's requests as ``config().fsp_id``."""

    def __init__(
        self, config: Callable[[], SimulatorConfig], *, hub: HubClient, clock: Clock
    ) -> None:
        self._config = config
        self._hub = hub
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._issued = IssuedPackets()
        self.failures: list[str] = []  # callbacks the hub did not accept

    @property
    def pending(self) -> int:
        """Callbacks scheduled and not yet sent."""
        return len(self._tasks)

    def _later(self, answer: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(answer)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self,
        method: str,
        path: str,
        resource: str,
        destination: str | None,
        body: dict[str, Any],
        *,
        delay: float = 0.0,
    ) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self._hub.send(
                method, path, resource=resource, destination=destination, body=body
            )
        except HubRefused as exc:
            self.failures.append(f"{method} {path}: {exc}")
            log.warning("the hub refused %s %s: %s", method, path, exc)
        except Exception as exc:  # the hub is down or unreachable: record, keep serving
            self.failures.append(f"{method} {path}: {exc!r}")
            log.warning("cannot reach the hub for %s %s: %r", method, path, exc)

    def _error(
        self, path: str, resource: str, to: str, code: ErrorCode, why: str, *, delay: float = 0.0
    ) -> None:
        body = error_body(code, why)
        self._later(self._send("PUT", f"{path}/error", resource, to, body, delay=delay))

    # --- parties ---------------------------------------------------------------------------

    def party_lookup(self, id_type: str, id_value: str, *, requester: str) -> None:
        """Answer ``GET /parties/{Type}/{ID}`` by ``PUT /parties/{Type}/{ID}`` (or ``/error``)."""
        config = self._config()
        path = f"/parties/{id_type}/{id_value}"
        party = config.party(id_type, id_value)
        if party is None:
            self._error(path, "parties", requester, ErrorCode.PARTY_NOT_FOUND, "no such party")
            return
        info: dict[str, Any] = {
            "partyIdType": party.id_type,
            "partyIdentifier": party.id_value,
            "fspId": config.fsp_id,
        }
        body: dict[str, Any] = {"party": {"partyIdInfo": info, "name": party.name}}
        if party.first_name or party.last_name:
            names = {"firstName": party.first_name, "lastName": party.last_name}
            body["party"]["personalInfo"] = {"complexName": {k: v for k, v in names.items() if v}}
        self._later(self._send("PUT", path, "parties", requester, body))

    # --- quotes ----------------------------------------------------------------------------

    def quote(self, body: dict[str, Any], *, requester: str) -> None:
        """Answer ``POST /quotes`` by ``PUT /quotes/{ID}`` with fees, expiry and condition."""
        config = self._config()
        quote_id = str(body.get("quoteId", ""))
        path = f"/quotes/{quote_id}"
        behaviour = config.behaviour
        if behaviour.quotes == "never":
            return
        if behaviour.quotes == "refuse":
            code = ErrorCode.of(behaviour.refusal_code)
            self._error(path, "quotes", requester, code, "the payee FSP refuses this quote")
            return
        try:
            answer = self.quote_answer(body)
        except (InvalidInput, KeyError, TypeError, ValueError) as exc:
            self._error(path, "quotes", requester, ErrorCode.VALIDATION_ERROR, str(exc))
            return
        self._later(self._send("PUT", path, "quotes", requester, answer))

    def quote_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``PUT /quotes/{ID}`` body this payee gives for a ``POST /quotes`` body: the
        amounts with its fee, the expiry, the ILP packet and its condition."""
        config = self._config()
        amount = money_of(body["amount"])
        if amount.currency != config.currency:
            raise ValueError(f"this FSP does not hold {amount.currency}")
        fee = Money(config.behaviour.fee_minor, amount.currency)
        if body["amountType"] == "RECEIVE":
            transfer_amount, receive_amount = amount + fee, amount
        else:
            transfer_amount, receive_amount = amount, amount - fee
        if not receive_amount.is_positive:
            raise ValueError("the amount does not cover the payee FSP's fee")
        payee = body["payee"]["partyIdInfo"]
        expires = self._clock.now() + timedelta(seconds=config.behaviour.quote_ttl_seconds)
        transaction = {
            "transactionId": body["transactionId"],
            "quoteId": body["quoteId"],
            "payee": body["payee"],
            "payer": body["payer"],
            "amount": money_json(transfer_amount),
            "transactionType": body["transactionType"],
        }
        packet, condition, fulfilment = payment_request(
            config.secret,
            amount=transfer_amount.minor,
            expires_at=expires,
            destination=f"g.{config.fsp_id}.{payee['partyIdType']}.{payee['partyIdentifier']}".lower(),
            data=transaction,
        )
        self._issued.remember(
            condition=condition, packet=packet, fulfilment=fulfilment, amount=transfer_amount.minor
        )
        return {
            "transferAmount": money_json(transfer_amount),
            "payeeReceiveAmount": money_json(receive_amount),
            "payeeFspFee": money_json(fee),
            "expiration": datetime_text(expires),
            "ilpPacket": packet,
            "condition": condition,
        }

    # --- transfers -------------------------------------------------------------------------

    def transfer(self, body: dict[str, Any], *, requester: str) -> None:
        """Answer ``POST /transfers`` by ``PUT /transfers/{ID}`` with the fulfilment."""
        config = self._config()
        transfer_id = str(body.get("transferId", ""))
        path = f"/transfers/{transfer_id}"
        behaviour = config.behaviour
        if behaviour.transfers == "never":
            return
        if behaviour.transfers == "refuse":
            code = ErrorCode.of(behaviour.refusal_code)
            why = "the payee FSP refuses this transfer"
            self._error(path, "transfers", requester, code, why, delay=behaviour.delay_seconds)
            return
        try:
            fulfilment = self._fulfilment(config, body)
        except (InvalidInput, KeyError, TypeError, ValueError) as exc:
            self._error(path, "transfers", requester, ErrorCode.VALIDATION_ERROR, str(exc))
            return
        if behaviour.transfers == "wrong-fulfilment":
            fulfilment = new_fulfilment()
        state = "RESERVED" if behaviour.transfers == "reserve" else "COMMITTED"
        answer = {
            "fulfilment": fulfilment,
            "completedTimestamp": datetime_text(self._clock.now()),
            "transferState": state,
        }
        self._later(
            self._send("PUT", path, "transfers", requester, answer, delay=behaviour.delay_seconds)
        )

    def _fulfilment(self, config: SimulatorConfig, body: dict[str, Any]) -> str:
        condition, packet_text = str(body["condition"]), str(body["ilpPacket"])
        known = self._issued.recall(condition, packet_text)
        if known is None:  # not a recent quote: derive it from the packet
            packet = read_ilp_prepare_packet(packet_text)
            fulfilment = fulfilment_for(config.secret, packet)
            if condition_of(fulfilment) != condition:
                raise ValueError("the condition is not one this FSP issued for this packet")
            known = fulfilment, packet.amount
        fulfilment, amount = known
        if money_of(body["amount"]).minor != amount:
            raise ValueError("the amount differs from the quoted ILP packet")
        if parse_datetime_text(str(body["expiration"])) <= self._clock.now():
            raise ValueError("the transfer has expired")
        return fulfilment
