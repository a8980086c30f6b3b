"""The gateway's HTTP route: ``ANY /exchange/r1/{instance}/{memberClass}/{memberCode}/
{subsystemCode}/{serviceCode}/{path}`` (X-Road REST message protocol). Refusals are problem+json
with ``X-Road-Error`` (the stable code) and ``X-Road-Request-Id``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from baobab.directory import ClientId, MemberId
from baobab.exchange.domain import (
    BadResponseSignature,
    BodyTooLarge,
    ClientMismatch,
    ProviderTimeout,
    ProviderUnreachable,
    RequestHashMismatch,
    ResponseTooLarge,
)
from baobab.exchange.gateway import ConsumerCall, Gateway
from baobab.infra.http.auth import MissingScope, bearer_principal
from baobab.infra.http.problems import problem, status_for
from baobab.kernel.errors import BaobabError

CLIENT_HEADERS = ("x-road-client", "information-mediator-client", "x-govstack-client")
GATEWAY_PARAMETERS = (
    "instance",
    "member_class",
    "member_code",
    "subsystem_code",
    "service_code",
    "path",
)
GATEWAY_PATH = (
    "/r1/{instance}/{member_class}/{member_code}/{subsystem_code}/{service_code}/{path:path}"
)
_STATUS: dict[type[BaobabError], int] = {
    BodyTooLarge: 413,
    ProviderTimeout: 504,
    ProviderUnreachable: 502,
    ResponseTooLarge: 502,
    BadResponseSignature: 502,
    RequestHashMismatch: 502,
}


_GATEWAY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The provider's answer, signed (X-Road-Signature)"},
    401: {"description": "No or bad token, or X-Road-Client not the token's"},
    403: {"description": "No access right, no consent"},
    413: {"description": "Body over the limit"},
    502: {"description": "Provider failed, or its answer is not bound to the request"},
    503: {"description": "Message log cannot be written"},
    504: {"description": "Provider timeout"},
}


def gateway_status(error: BaobabError) -> int:
    """The HTTP status of a refused message."""
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    return status_for(error)


class _GatewayRoute(APIRoute):
    """An ``APIRoute`` (so OpenAPI describes the gateway like any route) that hands the matched
    request straight to the gateway's ASGI handler. FastAPI's per-request machinery (the
    request object, two exit stacks, dependency solving, the response wrapper) cost about a
    tenth of a message's CPU, and the gateway needs none of it: it reads its own headers, and
    answers every refusal itself."""

    asgi: Callable[[Scope, Receive, Send], Awaitable[None]]

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self.methods or set()
        if scope["method"] not in methods:  # matched on the path alone
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})
        await self.asgi(scope, receive, send)


def add_gateway_route(router: APIRouter, gateway: Gateway) -> None:
    """The gateway route, for each method X-Road's REST protocol carries."""

    async def call_service(scope: Scope, receive: Receive, send: Send) -> None:
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        params = scope["path_params"]
        request = Request(scope, receive)
        try:
            principal = bearer_principal(request, headers.get("authorization", ""))
            if not principal.has_scope("exchange:call"):
                raise MissingScope("the gateway needs the scope 'exchange:call'")
            named = {headers[h] for h in CLIENT_HEADERS if h in headers}
            if len(named) > 1:
                raise ClientMismatch("the client headers name different subsystems")
            provider = _provider_of(
                params["instance"],
                params["member_class"],
                params["member_code"],
                params["subsystem_code"],
            )
        except BaobabError as exc:
            await _refused(request, exc, {"X-Road-Error": exc.code})(scope, receive, send)
            return
        claimed = named.pop() if named else None
        if claimed is not None:
            headers["x-road-client"] = claimed
        query = scope.get("query_string", b"").decode("latin-1")
        target = "/" + params["path"] + (f"?{query}" if query else "")
        answer = await gateway.exchange(
            ConsumerCall(
                client_id=principal.client_id,
                claimed_client=claimed,
                provider=provider,
                service_code=params["service_code"],
                method=scope["method"],
                target=target,
                headers=headers,
                body=_body(receive),
            )
        )
        if answer.error is not None:
            await _refused(request, answer.error, answer.headers)(scope, receive, send)
            return
        raw = [(b"content-length", str(len(answer.body)).encode("latin-1"))]
        raw += [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers.items()
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": raw})
        await send({"type": "http.response.body", "body": answer.body})

    async def documented_endpoint(request: Request) -> Response:  # pragma: no cover - never run
        raise RuntimeError("the gateway route is served by its ASGI handler")

    documented = {
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in GATEWAY_PARAMETERS
        ],
        "security": [{"HTTPBearer": []}],
    }
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        router.add_api_route(
            GATEWAY_PATH,
            documented_endpoint,
            methods=[method],
            operation_id=f"exchange_gateway_{method.lower()}",
            summary="Call a provider's service through the gateway (X-Road REST protocol)",
            response_class=Response,
            responses=_GATEWAY_RESPONSES,
            openapi_extra=documented,
            route_class_override=_GatewayRoute,
        )
        route = router.routes[-1]
        assert isinstance(route, _GatewayRoute)
        route.asgi = call_service


@functools.lru_cache(maxsize=1024)
def _provider_of(instance: str, member_class: str, member_code: str, subsystem: str) -> ClientId:
    """The provider a path names (validated once per distinct name: the same few providers
    are named by every message)."""
    return ClientId(MemberId(instance, member_class, member_code), subsystem)


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it streams in."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _refused(request: Request, error: BaobabError, headers: dict[str, str]) -> Response:
    response = problem(
        status=gateway_status(error),
        code=error.code,
        title=error.title,
        detail=error.detail,
        request=request,
        **error.extra,
    )
    response.headers.update(headers)
    return response
