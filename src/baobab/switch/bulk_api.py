"""FSPIOP ``/bulkTransfers`` routes under ``/switch``: same rules as the transfer routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from baobab.switch.bulk import BulkTransferService
from baobab.switch.fspiop_api import FspCaller, answer, fspiop_body
from baobab.switch.gate import Gate
from baobab.switch.validation import check_id, parse_json

_ERROR: dict[int | str, dict[str, Any]] = {400: {"description": "FSPIOP error"}}


def build_bulk_routes(router: APIRouter, *, gate: Gate, bulk: BulkTransferService) -> None:
    """``/bulkTransfers`` (POST), ``/bulkTransfers/{ID}`` (GET, PUT), ``.../error`` (PUT)."""

    @router.post(
        "/bulkTransfers",
        status_code=202,
        summary="Prepare a bulk transfer (FSPIOP)",
        openapi_extra=fspiop_body("bulkTransfers"),
        responses=_ERROR,
    )
    async def prepare(request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            payer = gate.admit(
                principal, headers, resource="bulkTransfers", method="POST", uri=uri, body=body
            )
            bulk.prepare(payer, message=parse_json(body), headers=headers, body=body)

        return await answer(request, 202, work)

    def reply(error: bool) -> Callable[[Request, FspCaller], Any]:
        async def endpoint(request: Request, principal: FspCaller) -> Response:
            bulk_id = request.path_params["bulk_id"]

            def work(body: bytes, headers: dict[str, str], uri: str) -> None:
                payee = gate.admit(
                    principal, headers, resource="bulkTransfers", method="PUT", uri=uri, body=body
                )
                check_id(bulk_id, "bulkTransferId")
                message = parse_json(body)
                if error:
                    bulk.reject(payee, bulk_id, message=message, headers=headers, body=body)
                else:
                    bulk.fulfil(payee, bulk_id, message=message)

            return await answer(request, 200, work)

        return endpoint

    for error in (False, True):
        path = "/bulkTransfers/{bulk_id}" + ("/error" if error else "")
        router.add_api_route(
            path,
            reply(error),
            methods=["PUT"],
            status_code=200,
            summary="The payee FSP's results of a bulk" + (" (error)" if error else ""),
            responses=_ERROR,
            openapi_extra={
                "parameters": [
                    {
                        "name": "bulk_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                **fspiop_body("bulkTransfers"),
            },
            name=f"put_{path}",
        )

    @router.get(
        "/bulkTransfers/{bulk_id}",
        status_code=202,
        summary="Ask for a bulk transfer's state (answered by callback)",
        responses=_ERROR,
    )
    async def query(bulk_id: str, request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            source = gate.admit(
                principal, headers, resource="bulkTransfers", method="GET", uri=uri, body=body
            )
            check_id(bulk_id, "bulkTransferId")
            bulk.query(source, bulk_id)

        return await answer(request, 202, work)
