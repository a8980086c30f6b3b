"""The simulated FSP as a payer: lookup -> quote -> transfer against the hub, each step waiting
for its callback, and the outcome of a transfer for whoever asks (tests, benchmark, demo)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from baobab.fspsim.config import SimulatorConfig
from baobab.fspsim.hub import HubClient, HubRefused
from baobab.fspsim.journal import Journal, Key, Received
from baobab.kernel.clock import Clock
from baobab.kernel.ids import new_id
from baobab.kernel.money import Money
from baobab.switch.fspiop import datetime_text, money_json

FINAL = frozenset({"COMMITTED", "ABORTED"})


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """How a transfer ended for the payer: ``state`` COMMITTED, ABORTED or RESERVED, or
    ``FAILED`` when a step before the transfer failed (``stage`` says which)."""

    transfer_id: str
    state: str
    stage: str
    error_code: str | None = None
    error_description: str | None = None
    fulfilment: str | None = None
    payee_fsp: str | None = None
    transfer_amount: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "transferId": self.transfer_id,
            "state": self.state,
            "stage": self.stage,
            "errorCode": self.error_code,
            "errorDescription": self.error_description,
            "fulfilment": self.fulfilment,
            "payeeFsp": self.payee_fsp,
            "transferAmount": self.transfer_amount,
            "seconds": self.seconds,
        }


class StepFailed(Exception):
    """A step of a payment ended with an error callback, a refusal or no answer in time."""

    def __init__(self, stage: str, code: str | None, description: str) -> None:
        super().__init__(f"{stage}: {code} {description}")
        self.stage, self.code, self.description = stage, code, description


def _error_of(received: Received) -> tuple[str | None, str]:
    info = received.body.get("errorInformation", {}) if isinstance(received.body, dict) else {}
    return received.error_code, str(info.get("errorDescription", ""))


class Payer:
    """Starts payments as ``config().fsp_id`` and reads their callbacks from ``journal``."""

    def __init__(
        self,
        config: Callable[[], SimulatorConfig],
        *,
        hub: HubClient,
        journal: Journal,
        clock: Clock,
    ) -> None:
        self._config = config
        self._hub = hub
        self._journal = journal
        self._clock = clock

    async def _ask(
        self,
        stage: str,
        key: Key,
        method: str,
        path: str,
        *,
        resource: str,
        destination: str | None,
        body: dict[str, Any] | None,
        timeout: float,
    ) -> Received:
        future = self._journal.expect(key)
        try:
            await self._hub.send(
                method, path, resource=resource, destination=destination, body=body
            )
        except HubRefused as exc:
            self._journal.forget(key, future)
            raise StepFailed(stage, exc.error_code, str(exc.body)) from exc
        try:
            received = await self._journal.wait(key, future, timeout)
        except TimeoutError as exc:
            raise StepFailed(stage, None, f"no callback within {timeout:g} s") from exc
        if received.error:
            raise StepFailed(stage, *_error_of(received))
        return received

    async def lookup(self, id_type: str, id_value: str) -> dict[str, Any]:
        """The payee party (with its ``partyIdInfo.fspId``) as its FSP describes it."""
        received = await self._ask(
            "lookup",
            ("PUT", "parties", f"{id_type}/{id_value}"),
            "GET",
            f"/parties/{id_type}/{id_value}",
            resource="parties",
            destination=None,
            body=None,
            timeout=self._config().callback_timeout_seconds,
        )
        party = received.body.get("party") if isinstance(received.body, dict) else None
        if not isinstance(party, dict) or "fspId" not in party.get("partyIdInfo", {}):
            raise StepFailed("lookup", None, "the party callback names no FSP")
        return party

    async def quote(
        self, payee: dict[str, Any], amount: Money, transaction_id: str
    ) -> tuple[str, dict[str, Any]]:
        """A quote from the payee's FSP for sending ``amount``: (quote id, PUT body)."""
        config = self._config()
        quote_id = new_id()
        payer_party = config.parties[0] if config.parties else None
        payer_info: dict[str, Any] = {
            "partyIdType": payer_party.id_type if payer_party else "ACCOUNT_ID",
            "partyIdentifier": payer_party.id_value if payer_party else config.fsp_id,
            "fspId": config.fsp_id,
        }
        body = {
            "quoteId": quote_id,
            "transactionId": transaction_id,
            "payee": payee,
            "payer": {"partyIdInfo": payer_info},
            "amountType": "SEND",
            "amount": money_json(amount),
            "transactionType": {
                "scenario": "TRANSFER",
                "initiator": "PAYER",
                "initiatorType": "CONSUMER",
            },
            "expiration": datetime_text(
                self._clock.now() + timedelta(seconds=config.callback_timeout_seconds)
            ),
        }
        received = await self._ask(
            "quote",
            ("PUT", "quotes", quote_id),
            "POST",
            "/quotes",
            resource="quotes",
            destination=payee["partyIdInfo"]["fspId"],
            body=body,
            timeout=config.callback_timeout_seconds,
        )
        return quote_id, dict(received.body)

    async def transfer(
        self,
        *,
        transfer_id: str,
        payee_fsp: str,
        quote: dict[str, Any],
        expires_in: float | None = None,
        timeout: float | None = None,
    ) -> Received:
        """Send the transfer the quote allows, to expire ``expires_in`` seconds from now (default:
        the configured TTL); the payer's final callback (PUT or PUT .../error)."""
        config = self._config()
        lifetime = config.transfer_ttl_seconds if expires_in is None else expires_in
        expires = self._clock.now() + timedelta(seconds=lifetime)
        body = {
            "transferId": transfer_id,
            "payerFsp": config.fsp_id,
            "payeeFsp": payee_fsp,
            "amount": quote["transferAmount"],
            "ilpPacket": quote["ilpPacket"],
            "condition": quote["condition"],
            "expiration": datetime_text(expires),
        }
        key: Key = ("PUT", "transfers", transfer_id)
        future = self._journal.expect(key)
        try:
            await self._hub.send(
                "POST", "/transfers", resource="transfers", destination=payee_fsp, body=body
            )
        except HubRefused as exc:
            self._journal.forget(key, future)
            raise StepFailed("transfer", exc.error_code, str(exc.body)) from exc
        wait = timeout if timeout is not None else config.callback_timeout_seconds
        try:
            return await self._journal.wait(key, future, wait)
        except TimeoutError as exc:
            raise StepFailed("transfer", None, f"no callback within {wait:g} s") from exc

    async def pay(
        self,
        id_type: str,
        id_value: str,
        amount: Money,
        *,
        transfer_id: str | None = None,
        expires_in: float | None = None,
    ) -> TransferOutcome:
        """The whole payment; never raises for a refusal, the outcome says what happened."""
        transfer_id = transfer_id or new_id()
        seconds: dict[str, float] = {}
        payee_fsp, transfer_amount = None, None
        started = time.perf_counter()
        try:
            payee = await self.lookup(id_type, id_value)
            payee_fsp = str(payee["partyIdInfo"]["fspId"])
            seconds["lookup"] = time.perf_counter() - started
            _, quote = await self.quote(payee, amount, new_id())
            transfer_amount = str(quote["transferAmount"]["amount"])
            seconds["quote"] = time.perf_counter() - started - seconds["lookup"]
            final = await self.transfer(
                transfer_id=transfer_id, payee_fsp=payee_fsp, quote=quote, expires_in=expires_in
            )
        except StepFailed as failed:
            seconds["total"] = time.perf_counter() - started
            state = "ABORTED" if failed.stage == "transfer" and failed.code else "FAILED"
            return TransferOutcome(
                transfer_id, state, failed.stage, failed.code, failed.description,
                payee_fsp=payee_fsp, transfer_amount=transfer_amount, seconds=seconds,
            )  # fmt: skip
        seconds["total"] = time.perf_counter() - started
        return outcome_of(
            transfer_id, final, payee_fsp=payee_fsp, amount=transfer_amount, seconds=seconds
        )

    async def query(self, transfer_id: str) -> TransferOutcome:
        """Ask the hub for a transfer's state (``GET /transfers/{ID}``); what its callback says
        (an unknown or another FSP's transfer: ABORTED with 3208)."""
        try:
            received = await self._ask(
                "query",
                ("PUT", "transfers", transfer_id),
                "GET",
                f"/transfers/{transfer_id}",
                resource="transfers",
                destination=None,
                body=None,
                timeout=self._config().callback_timeout_seconds,
            )
        except StepFailed as failed:
            state = "ABORTED" if failed.code else "FAILED"
            return TransferOutcome(transfer_id, state, "query", failed.code, failed.description)
        return outcome_of(transfer_id, received)

    async def outcome(self, transfer_id: str, timeout: float) -> TransferOutcome | None:
        """The transfer's final callback as the payer saw it, waiting up to ``timeout``;
        None if none came."""
        key: Key = ("PUT", "transfers", transfer_id)
        received = self._journal.latest(key)
        if received is None or (
            not received.error and received.body.get("transferState") not in FINAL
        ):
            future = self._journal.expect(key)
            try:
                received = await self._journal.wait(key, future, timeout)
            except TimeoutError:
                return None if received is None else outcome_of(transfer_id, received)
        return outcome_of(transfer_id, received)


def outcome_of(
    transfer_id: str,
    received: Received,
    *,
    payee_fsp: str | None = None,
    amount: str | None = None,
    seconds: dict[str, float] | None = None,
) -> TransferOutcome:
    """The outcome a transfer callback tells."""
    if received.error:
        code, description = _error_of(received)
        return TransferOutcome(
            transfer_id, "ABORTED", "transfer", code, description,
            payee_fsp=payee_fsp, transfer_amount=amount, seconds=seconds or {},
        )  # fmt: skip
    body = received.body if isinstance(received.body, dict) else {}
    return TransferOutcome(
        transfer_id,
        str(body.get("transferState", "")),
        "transfer",
        fulfilment=body.get("fulfilment"),
        payee_fsp=payee_fsp,
        transfer_amount=amount,
        seconds=seconds or {},
    )
