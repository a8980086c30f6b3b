"""The FSPIOP routes of the hub, mounted under ``/switch``: FSPs configure
``<public_url>/switch`` as the hub's base URL (Mojaloop serves them at the root).

Each route needs the scope ``switch:fspiop`` and an FSP caller. Requests are answered at once
(``202 Accepted`` for POST and GET, ``200 OK`` for PUT callbacks); the outcome follows by
callback. A request that cannot be understood gets the FSPIOP error body synchronously; a
request that starts work while the hub is behind gets 2005 (server busy, see :class:`Admission`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal
from baobab.switch.fspiop import ErrorCode, FspiopError
from baobab.switch.gate import Gate
from baobab.switch.transfers import TransferService
from baobab.switch.validation import check_id, parse_json

FspCaller = Annotated[Principal, Depends(require_scope("switch:fspiop"))]
PREFIX = "/switch"
_ERROR = {"description": "FSPIOP error", "content": {"application/json": {}}}
# FSPIOP work runs on threads of its own rather than the app's 40: a thread waits for the
# ledger's batch and then holds a database connection, and far more threads than the pool has
# connections would open and close connections under load. 16 carried 47-58 payments/s where
# 8 carried 50 and 32 no more than 16 (docs/benchmarks.md).
_WORKERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="switch-fspiop")
# Load shedding (see Admission): the queue delay above which new work is refused, and the
# limits of requests in the process at once. 16 threads of ~0.5-3 ms each clear 16 waiting
# requests well within the target, so fewer are never refused.
TARGET_DELAY = 0.05
MIN_IN_FLIGHT = 16
MAX_IN_FLIGHT = 256


class Admission:
    """Refuses new work when the hub falls behind, so the work it takes is served in time.

    Every FSPIOP request is counted while in the process; when one starts on a worker thread,
    how long it waited for one is noted. A request that begins a payment (a party lookup) is
    refused at once with 2005 (server busy, HTTP 503), which the FSP may send again later,
    while the last noted wait exceeds ``target_delay`` (and ``floor`` requests are in) or
    half of ``limit`` requests are in; one that carries a payment on (a quote, a transfer) only
    past twice that wait or ``limit`` requests, so the payments already begun are finished
    first rather than abandoned halfway. Answers to work in progress (``PUT``) are always
    taken, so what was started can finish - and their waits tell when the queue has drained.
    Without it an overloaded hub queues requests whose senders have given up and serves
    everyone late.
    """

    def __init__(
        self,
        *,
        target_delay: float = TARGET_DELAY,
        floor: int = MIN_IN_FLIGHT,
        limit: int = MAX_IN_FLIGHT,
    ) -> None:
        if target_delay <= 0 or not 0 <= floor < limit:
            raise ValueError("need a positive target delay and 0 <= floor < limit")
        self.target_delay = target_delay
        self.floor = floor
        self.limit = limit
        self.in_flight = 0  # changed on the event loop only
        self.delay = 0.0  # the last request's wait for a thread

    def enter(self, method: str, *, begins: bool = False) -> None:
        """Count a request in; raises :class:`FspiopError` 2005 for new work when behind.
        ``begins``: the request begins a payment."""
        if method in ("GET", "POST"):
            share = 2 if begins else 1
            if self.in_flight * share >= self.limit or (
                self.delay * share > 2 * self.target_delay and self.in_flight >= self.floor
            ):
                raise FspiopError(ErrorCode.SERVER_BUSY, "the hub is busy; send the request later")
        self.in_flight += 1

    def started(self, waited: float) -> None:
        """A request waited ``waited`` seconds for its thread (safe from any thread)."""
        self.delay = waited

    def leave(self) -> None:
        """A request counted in is done."""
        self.in_flight -= 1


_ADMISSION = Admission()
_LOOKUPS = ("/parties/", "/participants/")


def fspiop_body(resource: str) -> dict[str, Any]:
    media = f"application/vnd.interoperability.{resource}+json;version=1.1"
    return {"requestBody": {"required": True, "content": {media: {"schema": {"type": "object"}}}}}


def _timed(
    entered: float,
    work: Callable[[bytes, dict[str, str], str], None],
    body: bytes,
    headers: dict[str, str],
    uri: str,
) -> None:
    _ADMISSION.started(time.monotonic() - entered)
    work(body, headers, uri)


async def answer(
    request: Request,
    status: int,
    work: Callable[[bytes, dict[str, str], str], None],
    *,
    inline: bool = False,
) -> Response:
    """Run ``work(body, headers, uri)`` off the event loop, on the switch's worker threads, or
    with ``inline`` on the loop itself (work that does not wait: no database but a cache's
    rare refresh, such as a signer's keys every few seconds); FSPIOP errors become FSPIOP
    bodies."""
    body = await request.body()
    # The ASGI scope as it is (names already lower-case), not Starlette's URL and header views.
    scope = request.scope
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    uri = scope["path"].removeprefix(PREFIX) + (f"?{query}" if query else "")
    try:
        if inline:
            work(body, headers, uri)
            return Response(status_code=status)
        _ADMISSION.enter(scope["method"], begins=uri.startswith(_LOOKUPS))
        try:
            context = contextvars.copy_context()  # the request's id and the like, for the logs
            await asyncio.get_running_loop().run_in_executor(
                _WORKERS, context.run, _timed, time.monotonic(), work, body, headers, uri
            )
        finally:
            _ADMISSION.leave()
    except FspiopError as exc:
        return JSONResponse(exc.body(), status_code=exc.http_status)
    return Response(status_code=status)


def build_transfer_routes(router: APIRouter, *, gate: Gate, transfers: TransferService) -> None:
    """``/transfers`` (POST), ``/transfers/{ID}`` (GET, PUT), ``/transfers/{ID}/error`` (PUT)."""

    @router.post(
        "/transfers",
        status_code=202,
        summary="Prepare a transfer (FSPIOP)",
        openapi_extra=fspiop_body("transfers"),
        responses={400: _ERROR},
    )
    async def prepare(request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            payer = gate.admit(
                principal, headers, resource="transfers", method="POST", uri=uri, body=body
            )
            transfers.prepare(payer, message=parse_json(body), headers=headers, body=body)

        return await answer(request, 202, work)

    @router.put(
        "/transfers/{transfer_id}",
        status_code=200,
        summary="Fulfil a transfer (FSPIOP callback from the payee)",
        openapi_extra=fspiop_body("transfers"),
        responses={400: _ERROR},
    )
    async def fulfil(transfer_id: str, request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            payee = gate.admit(
                principal, headers, resource="transfers", method="PUT", uri=uri, body=body
            )
            check_id(transfer_id, "transferId")
            transfers.fulfil(
                payee, transfer_id, message=parse_json(body), headers=headers, body=body
            )

        return await answer(request, 200, work)

    @router.put(
        "/transfers/{transfer_id}/error",
        status_code=200,
        summary="Refuse a transfer (FSPIOP error callback from the payee)",
        openapi_extra=fspiop_body("transfers"),
        responses={400: _ERROR},
    )
    async def reject(transfer_id: str, request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            payee = gate.admit(
                principal, headers, resource="transfers", method="PUT", uri=uri, body=body
            )
            check_id(transfer_id, "transferId")
            transfers.reject(
                payee, transfer_id, message=parse_json(body), headers=headers, body=body
            )

        return await answer(request, 200, work)

    @router.get(
        "/transfers/{transfer_id}",
        status_code=202,
        summary="Ask for a transfer's state (answered by callback)",
        responses={400: _ERROR},
    )
    async def query(transfer_id: str, request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            source = gate.admit(
                principal, headers, resource="transfers", method="GET", uri=uri, body=body
            )
            check_id(transfer_id, "transferId")
            transfers.query(source, transfer_id)

        return await answer(request, 202, work)
