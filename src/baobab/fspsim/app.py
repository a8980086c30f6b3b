"""The simulated FSP's HTTP face: the FSPIOP resources the hub calls (requests answered ``202``
then by callback, callbacks acknowledged ``200``), plus the control API of :mod:`.control`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from baobab.fspsim.control import ControlApi
from baobab.fspsim.journal import Received
from baobab.fspsim.simulator import Simulator
from baobab.switch.fspiop import FspiopError, check_request
from baobab.switch.fspiop.errors import ErrorCode

ACCEPTED = Response(status_code=202)
OK = Response(status_code=200)


def _fspiop_error(exc: FspiopError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.http_status)


async def _inbound(
    request: Request, resource: str, *, has_body: bool, expects_callback: bool
) -> tuple[str, Any]:
    """The FSPIOP source and JSON body of a request from the hub, its headers checked."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    checked = check_request(
        headers, resource=resource, has_body=has_body, expects_callback=expects_callback
    )
    body: Any = None
    if has_body:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not JSON") from exc
        if not isinstance(body, dict):
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "the body is not a JSON object")
    return checked.source, body


def build_app(sim: Simulator) -> Starlette:
    """The ASGI app of ``sim``."""

    def note(request: Request, resource: str, id_: str, source: str, body: Any) -> None:
        """Journal a request from the hub (requests and callbacks alike are kept)."""
        at = sim.clock.now()
        sim.journal.record(Received(request.method, resource, id_, False, source, body, at))

    async def parties_get(request: Request) -> Response:
        try:
            source, _ = await _inbound(request, "parties", has_body=False, expects_callback=True)
        except FspiopError as exc:
            return _fspiop_error(exc)
        p = request.path_params
        note(request, "parties", f"{p['type']}/{p['id']}", source, None)
        sim.payee.party_lookup(p["type"], p["id"], requester=source)
        return ACCEPTED

    async def quotes_post(request: Request) -> Response:
        try:
            source, body = await _inbound(request, "quotes", has_body=True, expects_callback=True)
        except FspiopError as exc:
            return _fspiop_error(exc)
        note(request, "quotes", str(body.get("quoteId", "")), source, body)
        sim.payee.quote(body, requester=source)
        return ACCEPTED

    async def transfers_post(request: Request) -> Response:
        try:
            source, body = await _inbound(
                request, "transfers", has_body=True, expects_callback=True
            )
        except FspiopError as exc:
            return _fspiop_error(exc)
        note(request, "transfers", str(body.get("transferId", "")), source, body)
        sim.payee.transfer(body, requester=source)
        return ACCEPTED

    def callback(resource: str, *, error: bool) -> Any:
        async def receive(request: Request) -> Response:
            try:
                source, body = await _inbound(
                    request, resource, has_body=True, expects_callback=False
                )
            except FspiopError as exc:
                return _fspiop_error(exc)
            p = request.path_params
            id_ = f"{p['type']}/{p['id']}" if "type" in p else p["id"]
            at = sim.clock.now()
            sim.journal.record(Received(request.method, resource, id_, error, source, body, at))
            return OK

        return receive

    routes = [
        Route("/parties/{type}/{id}", parties_get, methods=["GET"]),
        Route("/parties/{type}/{id}", callback("parties", error=False), methods=["PUT"]),
        Route("/parties/{type}/{id}/error", callback("parties", error=True), methods=["PUT"]),
        Route("/participants/{type}/{id}", callback("participants", error=False), methods=["PUT"]),
        Route(
            "/participants/{type}/{id}/error",
            callback("participants", error=True),
            methods=["PUT"],
        ),
        Route("/quotes", quotes_post, methods=["POST"]),
        Route("/quotes/{id}", callback("quotes", error=False), methods=["PUT"]),
        Route("/quotes/{id}/error", callback("quotes", error=True), methods=["PUT"]),
        Route("/transfers", transfers_post, methods=["POST"]),
        Route("/transfers/{id}", callback("transfers", error=False), methods=["PUT", "PATCH"]),
        Route("/transfers/{id}/error", callback("transfers", error=True), methods=["PUT"]),
        *ControlApi(sim).routes(),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sim.aclose()

    return Starlette(routes=routes, lifespan=lifespan)
