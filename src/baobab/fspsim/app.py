"""The simulated FSP's HTTP face, a bare ASGI app: the FSPIOP resources the hub calls (requests
answered ``202`` then by callback, callbacks acknowledged ``200``), plus the control API of
:mod:`.control` under ``/sim``."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from functools import lru_cache
from typing import Any

from baobab.fspsim.asgi import (
    Answer,
    BodyTooLarge,
    Call,
    Receive,
    Scope,
    Send,
    read_call,
    send_answer,
)
from baobab.fspsim.control import ControlApi
from baobab.fspsim.journal import Received
from baobab.fspsim.simulator import Simulator
from baobab.switch.fspiop import FspiopError, check_request
from baobab.switch.fspiop.errors import ErrorCode
from baobab.switch.fspiop.headers import ACCEPT, CONTENT_TYPE, DATE, DESTINATION, SOURCE

ACCEPTED = Answer(202)
OK = Answer(200)
NOT_FOUND = Answer(404, {"detail": "Not Found"})
NOT_ALLOWED = Answer(405, {"detail": "Method Not Allowed"})
TOO_LARGE = Answer(413, {"detail": "the body is too large"})

# The FSPIOP resources a callback may concern, and the id of each: {Type}/{ID} or {ID}.
_CALLBACKS = {"parties": 2, "participants": 2, "quotes": 1, "transfers": 1}


@lru_cache(maxsize=512)
def _checked_source(
    resource: str,
    has_body: bool,
    expects_callback: bool,
    values: tuple[str | None, str | None, str | None, str | None, str | None],
) -> str:
    """The FSPIOP source of a request with these header values, checked (FspiopError if not).
    Kept per distinct value: within a second the hub sends the same ones again and again."""
    names = (DATE, SOURCE, DESTINATION, CONTENT_TYPE, ACCEPT)
    headers = {name: value for name, value in zip(names, values, strict=True) if value is not None}
    checked = check_request(
        headers, resource=resource, has_body=has_body, expects_callback=expects_callback
    )
    return checked.source


def inbound(
    call: Call, resource: str, *, has_body: bool, expects_callback: bool
) -> tuple[str, Any]:
    """The FSPIOP source and JSON body of a request from the hub, its headers checked."""
    h = call.headers
    values = (h.get(DATE), h.get(SOURCE), h.get(DESTINATION), h.get(CONTENT_TYPE), h.get(ACCEPT))
    source = _checked_source(resource, has_body, expects_callback, values)
    body: Any = None
    if has_body:
        try:
            body = json.loads(call.body)
        except ValueError as exc:
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not JSON") from exc
        if not isinstance(body, dict):
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not a JSON object")
    return source, body


class SimulatorApp:
    """The ASGI app of one simulator; closes its link to the hub at lifespan shutdown."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.control = ControlApi(sim)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            call = await read_call(scope, receive)
        except BodyTooLarge:
            await send_answer(send, TOO_LARGE)
            return
        answer = self.handle(call)
        await send_answer(send, answer if isinstance(answer, Answer) else await answer)

    def handle(self, call: Call) -> Answer | Awaitable[Answer]:
        """The answer to ``call``: at once for the FSPIOP resources (they answer later, by
        callback), to be awaited for the control API."""
        if call.segments[0] == "sim":
            return self.control.answer(call)
        try:
            return self.fspiop(call)
        except FspiopError as exc:
            return Answer(exc.http_status, exc.body())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.sim.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def fspiop(self, call: Call) -> Answer:
        """Route an FSPIOP request or callback from the hub."""
        segments, method = call.segments, call.method
        resource, rest = segments[0], segments[1:]
        id_size = _CALLBACKS.get(resource)
        if id_size is None or len(rest) not in (0, id_size, id_size + 1):
            return NOT_FOUND
        if len(rest) == id_size + 1 and rest[-1] != "error":
            return NOT_FOUND
        if not rest:  # POST /quotes, POST /transfers
            if method != "POST" or resource not in ("quotes", "transfers"):
                return NOT_ALLOWED if resource in ("quotes", "transfers") else NOT_FOUND
            return self.request(call, resource)
        id_ = "/".join(rest[:id_size])
        if method == "GET" and resource == "parties" and len(rest) == id_size:
            source, _ = inbound(call, "parties", has_body=False, expects_callback=True)
            self.note("GET", "parties", id_, error=False, source=source, body=None)
            self.sim.payee.party_lookup(rest[0], rest[1], requester=source)
            return ACCEPTED
        error = len(rest) > id_size
        if method == "PUT" or (method == "PATCH" and resource == "transfers" and not error):
            source, body = inbound(call, resource, has_body=True, expects_callback=False)
            self.note(method, resource, id_, error=error, source=source, body=body)
            return OK
        return NOT_ALLOWED

    def request(self, call: Call, resource: str) -> Answer:
        """``POST /quotes`` or ``POST /transfers``: journalled, answered later by callback."""
        source, body = inbound(call, resource, has_body=True, expects_callback=True)
        key = "quoteId" if resource == "quotes" else "transferId"
        self.note("POST", resource, str(body.get(key, "")), error=False, source=source, body=body)
        if resource == "quotes":
            self.sim.payee.quote(body, requester=source)
        else:
            self.sim.payee.transfer(body, requester=source)
        return ACCEPTED

    def note(
        self, method: str, resource: str, id_: str, *, error: bool, source: str, body: Any
    ) -> None:
        """Journal a message from the hub (requests and callbacks alike are kept)."""
        at = self.sim.clock.now()
        self.sim.journal.record(Received(method, resource, id_, error, source, body, at))


def build_app(sim: Simulator) -> SimulatorApp:
    """The ASGI app of ``sim``."""
    return SimulatorApp(sim)
