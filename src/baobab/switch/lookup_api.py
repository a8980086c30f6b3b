"""FSPIOP party lookup and quote routes under ``/switch``: ``/participants/{Type}/{ID}``,
``/parties/{Type}/{ID}`` (each also with ``/{SubId}``) and ``/quotes``. Same rules as the
transfer routes: scope ``switch:fspiop``, an FSP caller, ``202``/``200`` at once, the outcome by
callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from baobab.switch.fspiop_api import FspCaller, answer, fspiop_body
from baobab.switch.gate import Gate
from baobab.switch.parties import PartyKey, PartyService
from baobab.switch.quotes import QuoteService
from baobab.switch.validation import check_id, parse_json

_ERROR: dict[int | str, dict[str, Any]] = {400: {"description": "FSPIOP error"}}
_PARTY = "/{Type}/{ID}"
_WORK = Callable[[bytes, dict[str, str], str], None]


def _path_parameters(path: str, resource: str | None = None) -> dict[str, Any]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    extra: dict[str, Any] = {
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in names
        ]
    }
    if resource is not None:
        extra.update(fspiop_body(resource))
    return extra


def _party(request: Request) -> PartyKey:
    params = request.path_params
    return PartyKey.of(params["Type"], params["ID"], params.get("SubId"))


def build_party_routes(router: APIRouter, *, gate: Gate, parties: PartyService) -> None:
    """``/participants/{Type}/{ID}[/{SubId}]`` (GET, POST, DELETE) and
    ``/parties/{Type}/{ID}[/{SubId}]`` (GET, PUT, PUT .../error)."""

    def route(
        method: str,
        path: str,
        status: int,
        summary: str,
        act: Callable[[FspCaller, PartyKey, bytes, dict[str, str], str], None],
        *,
        resource: str | None = None,
        inline: bool = False,
    ) -> None:
        async def endpoint(request: Request, principal: FspCaller) -> Response:
            def work(body: bytes, headers: dict[str, str], uri: str) -> None:
                act(principal, _party(request), body, headers, uri)

            return await answer(request, status, work, inline=inline)

        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            status_code=status,
            summary=summary,
            responses=_ERROR,
            openapi_extra=_path_parameters(path, resource),
            name=f"{method.lower()}_{path}",
        )

    def which_fsp(p: FspCaller, key: PartyKey, body: bytes, h: dict[str, str], uri: str) -> None:
        source = gate.admit(p, h, resource="participants", method="GET", uri=uri, body=body)
        parties.which_fsp(source, key)

    def register(p: FspCaller, key: PartyKey, body: bytes, h: dict[str, str], uri: str) -> None:
        source = gate.admit(p, h, resource="participants", method="POST", uri=uri, body=body)
        parties.register(source, key, parse_json(body))

    def remove(p: FspCaller, key: PartyKey, body: bytes, h: dict[str, str], uri: str) -> None:
        source = gate.admit(p, h, resource="participants", method="DELETE", uri=uri, body=body)
        parties.remove(source, key)

    def ask(p: FspCaller, key: PartyKey, body: bytes, h: dict[str, str], uri: str) -> None:
        source = gate.admit(p, h, resource="parties", method="GET", uri=uri, body=body)
        parties.ask(source, key, h)

    def tell(error: bool) -> Callable[[FspCaller, PartyKey, bytes, dict[str, str], str], None]:
        def act(p: FspCaller, key: PartyKey, body: bytes, h: dict[str, str], uri: str) -> None:
            source = gate.admit(
                p,
                h,
                resource="parties",
                method="PUT",
                uri=uri,
                body=body,
                destination_required=True,
            )
            parse_json(body)
            parties.answer(source, key, h, body, error=error)

        return act

    # /parties first: every payment starts with its GET and PUT. An answer is passed on from
    # memory (its callback is not recorded), so it is handled on the event loop.
    for tail in (_PARTY, _PARTY + "/{SubId}"):
        path = "/parties" + tail
        route("GET", path, 202, "Ask the owning FSP about a party (by callback)", ask)
        route(
            "PUT",
            path,
            200,
            "The owning FSP's answer about a party",
            tell(False),
            resource="parties",
            inline=True,
        )
        route(
            "PUT",
            path + "/error",
            200,
            "The owning FSP's error about a party",
            tell(True),
            resource="parties",
            inline=True,
        )
    for tail in (_PARTY, _PARTY + "/{SubId}"):
        path = "/participants" + tail
        route("GET", path, 202, "Which FSP owns a party identifier (by callback)", which_fsp)
        route(
            "POST",
            path,
            202,
            "Register the caller as owner of a party id",
            register,
            resource="participants",
        )
        route("DELETE", path, 202, "Remove the caller as owner of a party id", remove)


def build_quote_routes(
    router: APIRouter, *, gate: Gate, quotes: QuoteService, resource: str = "quotes"
) -> None:
    """``/<resource>`` (POST), ``/<resource>/{ID}`` (GET, PUT), ``.../error`` (PUT), for
    ``quotes`` and ``bulkQuotes``."""
    id_name = "quoteId" if resource == "quotes" else "bulkQuoteId"
    what = "quote" if resource == "quotes" else "bulk quote"

    async def ask(request: Request, principal: FspCaller) -> Response:
        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            payer = gate.admit(
                principal, headers, resource=resource, method="POST", uri=uri, body=body
            )
            quotes.request(payer, message=parse_json(body), headers=headers, body=body)

        return await answer(request, 202, work)

    router.add_api_route(
        f"/{resource}",
        ask,
        methods=["POST"],
        status_code=202,
        summary=f"Ask the payee FSP for a {what} (FSPIOP)",
        openapi_extra=fspiop_body(resource),
        responses=_ERROR,
        name=f"post_{resource}",
    )

    def reply(error: bool) -> Callable[[Request, FspCaller], Any]:
        async def endpoint(request: Request, principal: FspCaller) -> Response:
            quote_id = request.path_params["quote_id"]

            def work(body: bytes, headers: dict[str, str], uri: str) -> None:
                payee = gate.admit(
                    principal, headers, resource=resource, method="PUT", uri=uri, body=body
                )
                check_id(quote_id, id_name)
                message = parse_json(body)
                quotes.answer(
                    payee, quote_id, message=message, headers=headers, body=body, error=error
                )

            return await answer(request, 200, work)

        return endpoint

    for error in (False, True):
        path = f"/{resource}/{{quote_id}}" + ("/error" if error else "")
        router.add_api_route(
            path,
            reply(error),
            methods=["PUT"],
            status_code=200,
            summary=f"The payee FSP's {what}" + (" (error)" if error else ""),
            responses=_ERROR,
            openapi_extra=_path_parameters(path, resource),
            name=f"put_{path}",
        )

    async def query(request: Request, principal: FspCaller) -> Response:
        quote_id = request.path_params["quote_id"]

        def work(body: bytes, headers: dict[str, str], uri: str) -> None:
            source = gate.admit(
                principal, headers, resource=resource, method="GET", uri=uri, body=body
            )
            check_id(quote_id, id_name)
            quotes.query(source, quote_id, headers)

        return await answer(request, 202, work)

    path = f"/{resource}/{{quote_id}}"
    router.add_api_route(
        path,
        query,
        methods=["GET"],
        status_code=202,
        summary=f"Ask for a {what} again (answered by callback)",
        responses=_ERROR,
        openapi_extra=_path_parameters(path),
        name=f"get_{path}",
    )
