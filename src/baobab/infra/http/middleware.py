"""ASGI middleware: a request id on every request and response, metrics and a JSON access log.

The access log and the metrics name the route template (``/directory/members/{code}``), never the
raw path or query, so identifiers in URLs (phone numbers, ID numbers) stay out of logs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baobab.kernel.ids import new_id

_log = logging.getLogger("baobab.access")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class HttpMetrics:
    """Request counters and latency histograms of one app, in the app's own registry.

    The labelled children are looked up once per (method, route, status) and kept: a
    request then costs one dictionary lookup instead of a label validation under a lock."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "baobab_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "baobab_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[method, route, status] = self.requests.labels(
                method, route, str(status)
            )
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[method, route] = self.latency.labels(method, route)
        counter.inc()
        timer.observe(seconds)


def _route_of(scope: Scope) -> str:
    # The router records the matched route in the scope; its path is the template.
    return str(getattr(scope.get("route"), "path", "unmatched"))


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-Id`` if well formed, else a new id."""
    for name, value in headers:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _SAFE_ID.fullmatch(incoming) else new_id()
    return new_id()


class RequestContext:
    """Assigns a request id (honours a well-formed incoming ``X-Request-Id``), times the request,
    counts it and writes one access-log line."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            method = scope["method"]
            self.metrics.record(method, route, status, elapsed)
            if _log.isEnabledFor(logging.INFO):
                # made and handled directly: Logger.info would also walk the stack for the
                # caller's file and line, which the JSON line does not show
                fields = {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                }
                _log.handle(
                    _log.makeRecord(
                        _log.name, logging.INFO, "", 0, "request", (), None, extra=fields
                    )
                )
