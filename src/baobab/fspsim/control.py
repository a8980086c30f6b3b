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

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from baobab.fspsim.config import InvalidSimulatorConfig
from baobab.fspsim.payer import StepFailed, TransferOutcome, outcome_of
from baobab.fspsim.simulator import Simulator
from baobab.kernel.errors import InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.money import Money

Handler = Callable[[Request], Awaitable[Response]]


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _expires_in(body: dict[str, Any]) -> float | None:
    lifetime = body.get("expirationSeconds")
    return None if lifetime is None else float(lifetime)


class ControlApi:
    """The ``/sim`` routes of one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._running: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[Route]:
        return [
            Route("/sim/payments", self._guarded(self.pay), methods=["POST"]),
            Route("/sim/transfers", self._guarded(self.transfer), methods=["POST"]),
            Route("/sim/transfers/{id}", self._guarded(self.outcome), methods=["GET"]),
            Route("/sim/transfers/{id}/query", self._guarded(self.query), methods=["POST"]),
            Route("/sim/journal", self._guarded(self.journal), methods=["GET"]),
            Route("/sim/behaviour", self._guarded(self.behaviour), methods=["PUT"]),
            Route("/sim/parties/register", self._guarded(self.register), methods=["POST"]),
        ]

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            token = self.sim.config.control_token
            given = request.headers.get("authorization", "").encode()
            if not token or not hmac.compare_digest(given, f"Bearer {token}".encode()):
                return _problem(401, "the control API needs the simulator's control token")
            return await handler(request)

        return guarded

    async def pay(self, request: Request) -> Response:
        """``{payee: {type, id}, amount, currency, transferId?, expirationSeconds?, wait?}``:
        the whole payment; its outcome, or ``202`` with the transfer id when ``wait`` is false."""
        try:
            body = await request.json()
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
            return JSONResponse({"transferId": transfer_id}, status_code=202)
        return JSONResponse((await run).as_json())

    async def transfer(self, request: Request) -> Response:
        """``{payeeFsp, quote, transferId?, expirationSeconds?}``: a transfer on a quote the
        payer already holds (got outside the hub's quote flow); its outcome."""
        try:
            body = await request.json()
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
            return JSONResponse(found.as_json())
        return JSONResponse(outcome_of(transfer_id, final, payee_fsp=payee_fsp).as_json())

    async def outcome(self, request: Request) -> Response:
        """The outcome of a transfer this FSP paid, waiting up to ``?timeout=`` seconds."""
        try:
            timeout = min(float(request.query_params.get("timeout", "0")), 120.0)
        except ValueError:
            return _problem(400, "timeout must be a number of seconds")
        found = await self.sim.payer.outcome(request.path_params["id"], timeout)
        if found is None:
            return _problem(404, "no outcome for this transfer (yet)")
        return JSONResponse(found.as_json())

    async def query(self, request: Request) -> Response:
        """Ask the hub for the transfer's state (``GET /transfers/{ID}``); what it answered."""
        found = await self.sim.payer.query(request.path_params["id"])
        return JSONResponse(found.as_json())

    async def journal(self, request: Request) -> Response:
        """What the FSP received (``?resource=`` and ``?id=`` filter) and the callbacks the hub
        refused from it."""
        resource, id_ = request.query_params.get("resource"), request.query_params.get("id")
        entries = [
            r.as_json()
            for r in self.sim.journal.entries
            if (resource is None or r.resource == resource) and (id_ is None or r.id == id_)
        ]
        return JSONResponse({"received": entries, "failures": list(self.sim.payee.failures)})

    async def behaviour(self, request: Request) -> Response:
        """Change the payee behaviour (fields of :class:`Behaviour`); the new behaviour."""
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise TypeError("a JSON object")
            now = self.sim.behave(**changes)
        except (ValueError, TypeError, InvalidSimulatorConfig) as exc:
            return _problem(400, f"not a behaviour: {exc}")
        return JSONResponse({"behaviour": asdict(now)})

    async def register(self, request: Request) -> Response:
        """Register every party of the FSP with the hub's oracle."""
        problems = await self.sim.register_parties()
        return JSONResponse({"problems": problems}, status_code=502 if problems else 200)
