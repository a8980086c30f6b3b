"""The route class of the switch's router: FSPIOP routes served without FastAPI's per-request
machinery.

An FSPIOP route's endpoint takes only the request, the caller (the ``require_scope`` guard)
and string path parameters, and answers with a plain response. Such a route is served by
calling the guard and the endpoint directly: no dependency solving, no request-response
wrapper, no exit stack per request - six inbound requests per payment make that a large part of
the hub's work. Everything else stays as FastAPI does it: the route is matched by the router (so
metrics and logs name its template), an error of the guard (401, 403) reaches the app's error
handlers as the same problem document, a method the route does not serve gets 405, and the
OpenAPI description comes from the endpoint as declared. A route whose endpoint asks for anything
else (a body model, query parameters, nested dependencies) is served by FastAPI as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

_Guard = Callable[[Request], Awaitable[Any]]


class _LeanCall:
    """How to call a lean endpoint: which argument is the request, which the guard's answer."""

    __slots__ = ("endpoint", "guard", "guard_name", "path_names", "request_name")

    def __init__(
        self,
        endpoint: Callable[..., Awaitable[Response]],
        *,
        request_name: str,
        guard_name: str,
        guard: _Guard,
        path_names: tuple[str, ...],
    ) -> None:
        self.endpoint = endpoint
        self.request_name = request_name
        self.guard_name = guard_name
        self.guard = guard
        self.path_names = path_names


def _lean_call(dependant: Dependant, endpoint: Callable[..., Any]) -> _LeanCall | None:
    """The lean call for ``endpoint``, or None if it needs FastAPI's machinery."""
    if not inspect.iscoroutinefunction(endpoint) or dependant.request_param_name is None:
        return None
    if dependant.query_params or dependant.header_params or dependant.cookie_params:
        return None
    if dependant.body_params or len(dependant.dependencies) != 1:
        return None
    guard = dependant.dependencies[0]
    plain = not (guard.dependencies or guard.path_params or guard.query_params)
    if guard.name is None or guard.call is None or not plain:
        return None
    if guard.request_param_name is None or guard.header_params or guard.body_params:
        return None
    call = guard.call
    if not (inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)):
        return None
    names = tuple(field.name for field in dependant.path_params)
    if any(field.field_info.annotation is not str for field in dependant.path_params):
        return None
    if (
        dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
    ):
        return None
    return _LeanCall(
        endpoint,
        request_name=dependant.request_param_name,
        guard_name=guard.name,
        guard=guard.call,
        path_names=names,
    )


class LeanRoute(APIRoute):
    """An :class:`APIRoute` that serves lean endpoints (see the module) directly."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.lean = _lean_call(self.dependant, endpoint)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        lean = self.lean
        if lean is None or scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)
            return
        request = Request(scope, receive)
        arguments: dict[str, Any] = {
            lean.request_name: request,
            lean.guard_name: await lean.guard(request),
        }
        params = scope["path_params"]
        for name in lean.path_names:
            arguments[name] = params[name]
        response = await lean.endpoint(**arguments)
        await response(scope, receive, send)
