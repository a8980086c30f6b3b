"""The HTTP app factory: one FastAPI app holding each block's router, plus the operational
endpoints ``/health``, ``/ready`` and ``/metrics``.

A block's router carries its own prefix (``APIRouter(prefix="/ledger")``) rather than getting one
here, so every route knows its full path template; metrics and logs name routes by it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from baobab.infra.http import dispatch, problems
from baobab.infra.http.auth import TokenVerifier
from baobab.infra.http.middleware import HttpMetrics, RequestContext
from baobab.kernel.errors import BaobabError

_HEALTHY = b'{"status":"ok"}'


class _Guarded(APIRouter):
    """Holds one block's router and declines at once a path outside the block's prefix.

    A request the routing table in front of the router does not serve (see ``dispatch``: no
    route, a wrong method, a slash to redirect) is matched against the routes one after the
    other; without the guard it would be tried against every route of every block."""

    def __init__(self, router: APIRouter) -> None:
        super().__init__()
        self._prefix = router.prefix
        self.include_router(router)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy, match the path below its root
            path = path[len(root) :]
        prefix = self._prefix
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return super().matches(scope)
        return Match.NONE, {}


class _ConstantRoute(APIRoute):
    """A route whose endpoint takes nothing and answers a constant: called directly, without
    FastAPI's per-request machinery (request object, dependency solving, exit stacks), which
    would cost a liveness probe more than the rest of the request does."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)  # FastAPI's own 405
            return
        response = await self.endpoint()
        await response(scope, receive, send)


def create_http_app(
    *,
    title: str,
    version: str,
    routers: Sequence[APIRouter],
    verifier: TokenVerifier,
    check_ready: Callable[[], None],
    registry: CollectorRegistry | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> FastAPI:
    """Build the app. ``check_ready`` raises a Baobab error when the app cannot serve yet;
    ``on_shutdown`` runs when the server stops (closing what belongs to its event loop); a
    block's background workers start and stop with its router's own lifespan."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for close in on_shutdown:
            await close()

    app = FastAPI(
        lifespan=lifespan,
        title=title,
        version=version,
        description="Baobab: foundational digital public infrastructure. "
        "Every route except /health, /ready and /metrics needs a bearer access token.",
        # our own metrics and access log cover requests; FastAPI's OpenTelemetry hooks would
        # otherwise consult the environment and providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.verifier = verifier
    problems.install(app)
    registry = registry or CollectorRegistry()

    async def health() -> Response:
        return Response(_HEALTHY, media_type="application/json")

    app.router.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["operations"],
        summary="Liveness: the process answers",
        response_model=dict[str, str],
        route_class_override=_ConstantRoute,
    )

    @app.get("/ready", tags=["operations"], summary="Readiness: database reachable, schema current")
    def ready(request: Request) -> Response:
        try:
            check_ready()
        except BaobabError as exc:
            return problems.problem(
                status=503, code=exc.code, title="Not ready", detail=exc.detail, request=request
            )
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(_Guarded(router) if router.prefix else router)
    dispatch.install(app)
    app.add_middleware(RequestContext, metrics=HttpMetrics(registry))
    return app
