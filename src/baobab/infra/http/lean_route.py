"""The route class of the hot routes: an endpoint served without FastAPI's per-request machinery.

FastAPI's generic handling of a request (solving the dependency graph, content-type parsing,
exit stacks, the request-response wrapper) costs about as much as a yes/no authentication or
an FSPIOP request itself. A route whose endpoint is a coroutine that answers with a
:class:`Response` and takes only

- exactly one guard, a :class:`~baobab.infra.http.auth.ScopeGuard` without dependencies of its
  own,
- string path parameters,
- optionally the :class:`Request`,
- optionally one JSON body model,

is served by calling the guard and the endpoint directly (the body validated with the route's
own field). Only the plain case goes that way: a body whose content type is not exactly
``application/json``, that is empty, not a JSON object or not valid goes to FastAPI's own
handler, so every refusal (401, 403, 405, 422) is the very one FastAPI gives, in the same
order; so does any route of another shape, and a route included with router-level
dependencies. The route is still matched by the router (metrics and logs name its template)
and described in OpenAPI from the endpoint as declared.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, _get_scope_effective_route_context
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from baobab.infra.http.auth import ScopeGuard


@dataclass(frozen=True, slots=True)
class _LeanCall:
    """How to call a lean endpoint: which argument gets what."""

    endpoint: Callable[..., Awaitable[Response]]
    guard_name: str
    guard: ScopeGuard
    path_names: tuple[str, ...]
    request_name: str | None
    body_name: str | None


def _lean_call(route: APIRoute, endpoint: Callable[..., Any]) -> _LeanCall | None:
    """The lean call for ``route``, or None when it needs FastAPI's machinery."""
    dependant = route.dependant
    if not inspect.iscoroutinefunction(endpoint) or route._embed_body_fields:
        return None
    returns = inspect.signature(endpoint, eval_str=True).return_annotation
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        return None
    special = (
        dependant.response_param_name,
        dependant.background_tasks_param_name,
        dependant.security_scopes_param_name,
        dependant.websocket_param_name,
        dependant.http_connection_param_name,
    )
    others = (dependant.query_params, dependant.header_params, dependant.cookie_params)
    if any(special) or any(others) or len(dependant.body_params) > 1:
        return None
    if any(field.field_info.annotation is not str for field in dependant.path_params):
        return None
    if len(dependant.dependencies) != 1:
        return None
    guard = dependant.dependencies[0]
    if guard.name is None or not isinstance(guard.call, ScopeGuard) or guard.dependencies:
        return None
    body = route.body_field
    return _LeanCall(
        endpoint,
        guard_name=guard.name,
        guard=guard.call,
        path_names=tuple(field.name for field in dependant.path_params),
        request_name=dependant.request_param_name,
        body_name=body.name if body is not None else None,
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with the body already read delivered once more, for FastAPI's handler."""
    delivered = False

    async def again() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def _json_object(request: Request, body: bytes) -> dict[str, Any] | None:
    """The decoded body if it is a JSON object FastAPI would decode the same way, else None."""
    if not body or request.headers.get("content-type", "").lower() != "application/json":
        return None
    try:
        decoded = json.loads(body)
    except ValueError:  # FastAPI's handler answers it (422, json_invalid)
        return None
    return decoded if isinstance(decoded, dict) else None


class LeanRoute(APIRoute):
    """An :class:`APIRoute` that serves lean endpoints (see the module) directly."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.lean = _lean_call(self, endpoint)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        lean = self.lean
        included = _get_scope_effective_route_context(scope)
        if included is not None and len(included.dependencies) != len(self.dependencies):
            lean = None  # included with router-level dependencies: FastAPI solves them
        if lean is None or scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)
            return
        request = Request(scope, receive)
        arguments: dict[str, Any] = {}
        if lean.body_name is not None:
            body = await request.body()
            decoded = _json_object(request, body)
            if decoded is None:
                await super().handle(scope, _replay(body, receive), send)
                return
            arguments[lean.guard_name] = await lean.guard(request)  # solved before the body
            field = self.body_field
            assert field is not None
            model, errors = field.validate(decoded, {}, loc=("body",))
            if errors:
                await super().handle(scope, _replay(body, receive), send)
                return
            arguments[lean.body_name] = model
        else:
            arguments[lean.guard_name] = await lean.guard(request)
        if lean.request_name is not None:
            arguments[lean.request_name] = request
        params = scope["path_params"]
        for name in lean.path_names:
            arguments[name] = params[name]
        response = await lean.endpoint(**arguments)
        await response(scope, receive, send)
