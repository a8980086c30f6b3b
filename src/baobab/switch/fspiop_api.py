"""The FSPIOP routes of the hub, mounted under ``/switch``: FSPs configure
``<public_url>/switch`` as the hub's base URL (Mojaloop serves them at the root).

Each route needs the scope ``switch:fspiop`` and an FSP caller. Requests are answered at once
(``202 Accepted`` for POST and GET, ``200 OK`` for PUT callbacks); the outcome follows by
callback. A request that cannot be understood gets the FSPIOP error body synchronously.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal
from baobab.switch.fspiop import FspiopError
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


def fspiop_body(resource: str) -> dict[str, Any]:
    media = f"application/vnd.interoperability.{resource}+json;version=1.1"
    return {"requestBody": {"required": True, "content": {media: {"schema": {"type": "object"}}}}}


async def answer(
    request: Request, status: int, work: Callable[[bytes, dict[str, str], str], None]
) -> Response:
    """Run ``work(body, headers, uri)`` off the event loop, on the switch's worker threads;
    FSPIOP errors become FSPIOP bodies."""
    body = await request.body()
    # The ASGI scope as it is (names already lower-case), not Starlette's URL and header views.
    scope = request.scope
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    uri = scope["path"].removeprefix(PREFIX) + (f"?{query}" if query else "")
    try:
        context = contextvars.copy_context()  # the request's id and the like, for the logs
        await asyncio.get_running_loop().run_in_executor(
            _WORKERS, context.run, work, body, headers, uri
        )
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
