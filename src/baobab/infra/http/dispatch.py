"""Request dispatch: the routes that can match a path, found by the path's first segment.

FastAPI tries an app's routes in order and matches a request to an included router's route
several times (once to choose the router, again in each nested router to handle it). Every
Baobab route path starts with a literal segment (``/ledger/...``, ``/health``), so the routes a
path can match are known from that segment alone: :func:`install` puts in front of the app's
router a table from first segment to those routes, in the router's order, and a request whose
route matches fully there is handed to it directly. Everything else (no route, a wrong method,
a trailing slash to redirect, a segment the table does not cover) goes to FastAPI's router
unchanged, so 404, 405 and redirects are exactly FastAPI's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import APIRouter, FastAPI
from fastapi.routing import (
    APIRoute,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
)
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

_EFFECTIVE_ROUTE = "effective_route_context"  # FastAPI's scope key for the route as included

# (route, its context as included or None for a route of the app itself)
_Candidate = tuple[APIRoute, _EffectiveRouteContext | None]


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") else ""


def _entries(routes: Iterable[object], *, limited: bool) -> Iterator[tuple[str, _Candidate | None]]:
    """Each route reachable from ``routes`` as ``(first segment of its path, candidate)``; the
    candidate is None when the route needs FastAPI's own handling (``limited``: form limits
    apply, which only FastAPI's own handling sets)."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            inner = limited or bool(route.include_context.form_limits)
            yield from _entries(route.effective_candidates(), limited=inner)
        elif isinstance(route, _EffectiveRouteContext):
            original = route.original_route
            candidate = (original, route) if isinstance(original, APIRoute) else None
            yield _first_segment(route.path_format), None if limited else candidate
        elif isinstance(route, APIRoute):
            yield _first_segment(route.path), None if limited else (route, None)
        else:
            yield _first_segment(str(getattr(route, "path", ""))), None


def routing_table(router: APIRouter) -> dict[str, tuple[_Candidate, ...]]:
    """First path segment -> the routes whose path starts with it, in the router's order. A
    segment is left out when a route there needs FastAPI's own handling or the segment is a
    path parameter (such a route could match under any segment)."""
    table: dict[str, list[_Candidate]] = {}
    left_out: set[str] = set()
    for segment, candidate in _entries(router.routes, limited=bool(router.form_limits)):
        if candidate is None or not segment or "{" in segment:
            left_out.add(segment)
        else:
            table.setdefault(segment, []).append(candidate)
    if any(not segment or "{" in segment for segment in left_out):
        return {}  # a route that may match any path: only FastAPI's order is right
    return {segment: tuple(routes) for segment, routes in table.items() if segment not in left_out}


class SegmentDispatch:
    """The app's router with a first-segment routing table in front (see the module)."""

    def __init__(self, router: APIRouter, table: dict[str, tuple[_Candidate, ...]]) -> None:
        self.router = router
        self.fallback: ASGIApp = router.middleware_stack
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            candidates = self.table.get(_first_segment(get_route_path(scope)))
            if candidates is not None:
                for route, context in candidates:
                    match, child_scope = (context or route).matches(scope)
                    if match is Match.FULL:
                        scope.setdefault("router", self.router)
                        scope.update(child_scope)
                        scope["route"] = route
                        if context is not None:
                            _get_fastapi_scope(scope)[_EFFECTIVE_ROUTE] = context
                        await route.handle(scope, receive, send)
                        return
        await self.fallback(scope, receive, send)


def install(app: FastAPI) -> None:
    """Put the routing table of ``app``'s routes, as they are now, in front of its router.
    Routes added later are served by FastAPI's router as before; so is every route when the
    router has middleware of its own (a body limit), which must see every request first."""
    router = app.router
    if router.middleware_stack != router.app:
        return
    router.middleware_stack = SegmentDispatch(router, routing_table(router))
