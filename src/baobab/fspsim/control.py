"""The simulator's control API under ``/sim``, for tests, the benchmark and the demo: start a
payment (and wait for its outcome or not), send a transfer on a quote already held, await a
transfer's outcome, read the journal, change the payee behaviour, register the parties with the
hub's oracle. Every route needs ``Authorization: Bearer <control_token>``; without a configured
token the control API refuses everything."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from baobab.fspsim.asgi import Answer, Call
from baobab.fspsim.config import InvalidSimulatorConfig
from baobab.fspsim.payer import StepFailed, TransferOutcome, outcome_of
from baobab.fspsim.simulator import Simulator
from baobab.kernel.errors import InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.money import Money

Handler = Callable[[Call], Awaitable[Answer]]
UNAUTHORIZED = Answer(401, {"detail": "the control API needs the simulator's control token"})


def _problem(status: int, detail: str) -> Answer:
    return Answer(status, {"detail": detail})


def _expires_in(body: dict[str, Any]) -> float | None:
    lifetime = body.get("expirationSeconds")
    return None if lifetime is None else float(lifetime)


class ControlApi:
    """The ``/sim`` routes of one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._running: set[asyncio.Task[Any]] = set()

    def route(self, call: Call) -> Handler | None:
        """The handler of ``call`` (its path starts with ``/sim``), or None if there is none."""
        match call.method, call.segments[1:]:
            case "POST", ("payments",):
                return self.pay
            case "POST", ("transfers",):
                return self.transfer
            case "GET", ("transfers", _):
                return self.outcome
            case "POST", ("transfers", _, "query"):
                return self.query
            case "GET", ("journal",):
                return self.journal
            case "PUT", ("behaviour",):
                return self.behaviour
            case "POST", ("parties", "register"):
                return self.register
        return None

    async def answer(self, call: Call) -> Answer:
        """The answer to a control request: 401 without the control token, 404 for no route."""
        token = self.sim.config.control_token
        given = call.headers.get("authorization", "").encode()
        if not token or not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return UNAUTHORIZED
        handler = self.route(call)
        if handler is None:
            return _problem(404, "no such control route")
        return await handler(call)

    async def pay(self, call: Call) -> Answer:
        """``{payee: {type, id}, amount, currency, transferId?, expirationSeconds?, wait?}``:
        the whole payment; its outcome, or ``202`` with the transfer id when ``wait`` is false."""
        try:
            body = call.json()
            payee = body["payee"]
            amount = Money.parse(str(body["amount"]), str(body["currency"]))
            id_type, id_value = str(payee["type"]), str(payee["id"])
            expires_in = _expires_in(body)
        except (ValueError, KeyError, TypeError, InvalidInput) as exc:
            return _problem(400, f"expected payee {{type, id}}, amount and currency: {exc}")
        transfer_id = str(body.get("transferId") or new_id())
        run = self.sim.payer.pay(
            id_type, id_value, amount, transfer_id=transfer_id, expires_in=expires_in
        )
        if not body.get("wait", True):
            task = asyncio.get_running_loop().create_task(run)
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            return Answer(202, {"transferId": transfer_id})
        return Answer(200, (await run).as_json())

    async def transfer(self, call: Call) -> Answer:
        """``{payeeFsp, quote, transferId?, expirationSeconds?}``: a transfer on a quote the
        payer already holds (got outside the hub's quote flow); its outcome."""
        try:
            body = call.json()
            payee_fsp, quote = str(body["payeeFsp"]), dict(body["quote"])
            expires_in = _expires_in(body)
        except (ValueError, KeyError, TypeError) as exc:
            return _problem(400, f"expected payeeFsp and quote: {exc}")
        transfer_id = str(body.get("transferId") or new_id())
        try:
            final = await self.sim.payer.transfer(
                transfer_id=transfer_id, payee_fsp=payee_fsp, quote=quote, expires_in=expires_in
            )
        except StepFailed as failed:
            state = "ABORTED" if failed.code else "FAILED"
            found = TransferOutcome(
                transfer_id, state, failed.stage, failed.code, failed.description,
                payee_fsp=payee_fsp,
            )  # fmt: skip
            return Answer(200, found.as_json())
        return Answer(200, outcome_of(transfer_id, final, payee_fsp=payee_fsp).as_json())

    async def outcome(self, call: Call) -> Answer:
        """The outcome of a transfer this FSP paid, waiting up to ``?timeout=`` seconds."""
        try:
            timeout = min(float(call.query("timeout") or "0"), 120.0)
        except ValueError:
            return _problem(400, "timeout must be a number of seconds")
        found = await self.sim.payer.outcome(call.segments[2], timeout)
        if found is None:
            return _problem(404, "no outcome for this transfer (yet)")
        return Answer(200, found.as_json())

    async def query(self, call: Call) -> Answer:
        """Ask the hub for the transfer's state (``GET /transfers/{ID}``); what it answered."""
        found = await self.sim.payer.query(call.segments[2])
        return Answer(200, found.as_json())

    async def journal(self, call: Call) -> Answer:
        """What the FSP received (``?resource=`` and ``?id=`` filter) and the callbacks the hub
        refused from it."""
        resource, id_ = call.query("resource"), call.query("id")
        entries = [
            r.as_json()
            for r in self.sim.journal.entries
            if (resource is None or r.resource == resource) and (id_ is None or r.id == id_)
        ]
        return Answer(200, {"received": entries, "failures": list(self.sim.payee.failures)})

    async def behaviour(self, call: Call) -> Answer:
        """Change the payee behaviour (fields of :class:`Behaviour`); the new behaviour."""
        try:
            changes = call.json()
            if not isinstance(changes, dict):
                raise TypeError("a JSON object")
            now = self.sim.behave(**changes)
        except (ValueError, TypeError, InvalidSimulatorConfig) as exc:
            return _problem(400, f"not a behaviour: {exc}")
        return Answer(200, {"behaviour": asdict(now)})

    async def register(self, call: Call) -> Answer:
        """Register every party of the FSP with the hub's oracle."""
        problems = await self.sim.register_parties()
        return Answer(502 if problems else 200, {"problems": problems})
