"""The gateway's HTTP route: ``ANY /exchange/r1/{instance}/{memberClass}/{memberCode}/
{subsystemCode}/{serviceCode}/{path}`` (X-Road REST message protocol). Refusals are problem+json
with ``X-Road-Error`` (the stable code) and ``X-Road-Request-Id``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

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
from baobab.infra.http.auth import MissingScope, principal_of
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


def add_gateway_route(router: APIRouter, gateway: Gateway) -> None:
    """The gateway route, for each method X-Road's REST protocol carries."""

    # The endpoint takes only the request: FastAPI's per-parameter dependency solving cost
    # about a quarter of a millisecond per message on the hot path; the parameters and the
    # bearer scheme are documented through ``openapi_extra`` instead.
    async def call_service(request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        params = request.path_params
        try:
            principal = principal_of(request, _bearer_of(headers))
            if not principal.has_scope("exchange:call"):
                raise MissingScope("the gateway needs the scope 'exchange:call'")
            named = {headers[h] for h in CLIENT_HEADERS if h in headers}
            if len(named) > 1:
                raise ClientMismatch("the client headers name different subsystems")
            provider = ClientId(
                MemberId(params["instance"], params["member_class"], params["member_code"]),
                params["subsystem_code"],
            )
        except BaobabError as exc:
            return _refused(request, exc, {"X-Road-Error": exc.code})
        claimed = named.pop() if named else None
        if claimed is not None:
            headers["x-road-client"] = claimed
        query = request.scope.get("query_string", b"").decode("latin-1")
        target = "/" + params["path"] + (f"?{query}" if query else "")

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.stream():
                if chunk:
                    yield chunk

        answer = await gateway.exchange(
            ConsumerCall(
                client_id=principal.client_id,
                claimed_client=claimed,
                provider=provider,
                service_code=params["service_code"],
                method=request.method,
                target=target,
                headers=headers,
                body=body(),
            )
        )
        if answer.error is not None:
            return _refused(request, answer.error, answer.headers)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

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
            call_service,
            methods=[method],
            operation_id=f"exchange_gateway_{method.lower()}",
            summary="Call a provider's service through the gateway (X-Road REST protocol)",
            response_class=Response,
            responses=_GATEWAY_RESPONSES,
            openapi_extra=documented,
        )


def _bearer_of(headers: Mapping[str, str]) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not scheme or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())


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
