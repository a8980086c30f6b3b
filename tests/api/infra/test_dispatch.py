"""The routing table in front of the app's router answers every request as FastAPI's own routing
does: the same routes are chosen, in the same order, and 404, 405 and slash redirects are FastAPI's.

The same routers are mounted in an app built by ``create_http_app`` and in a plain FastAPI app;
every request must get the same status, body and ``Allow``/``Location`` headers from both."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from baobab.infra.http import dispatch, problems
from baobab.infra.http.app import create_http_app
from baobab.kernel.errors import NotFound, Unauthenticated
from baobab.kernel.principal import Principal


class _NoTokens:
    def verify(self, token: str) -> Principal:
        raise Unauthenticated("no token is valid here")


def _routers() -> list[APIRouter]:
    shelf = APIRouter(prefix="/shelf")

    @shelf.get("/items/special")
    async def special() -> dict[str, str]:
        return {"item": "special"}

    @shelf.get("/items/{code}")
    async def item(code: str) -> dict[str, str]:
        if code == "missing":
            raise NotFound(f"no item {code}")
        return {"item": code}

    @shelf.post("/items/{code}")
    async def put_item(code: str, request: Request) -> Response:
        return JSONResponse({"put": code, "route": request.scope["route"].path})

    @shelf.get("/loose/")
    async def loose() -> dict[str, str]:
        return {"loose": "yes"}

    till = APIRouter(prefix="/till/drawer")

    @till.get("")
    async def drawer() -> dict[str, str]:
        return {"drawer": "open"}

    @till.delete("/{number:int}")
    async def close(number: int) -> dict[str, int]:
        return {"closed": number}

    return [shelf, till]


def _plain_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    for router in _routers():
        app.include_router(router)
    return app


def _baobab_app() -> FastAPI:
    return create_http_app(
        title="t", version="t", routers=_routers(), verifier=_NoTokens(), check_ready=lambda: None
    )


@pytest.fixture
def clients() -> Iterator[tuple[TestClient, TestClient]]:
    with (
        TestClient(_baobab_app(), follow_redirects=False) as baobab,
        TestClient(_plain_app(), follow_redirects=False) as plain,
    ):
        yield baobab, plain


REQUESTS = [
    ("GET", "/shelf/items/special"),  # the earlier of two matching routes
    ("GET", "/shelf/items/A-1"),
    ("GET", "/shelf/items/missing"),  # a Baobab error from the endpoint
    ("POST", "/shelf/items/B-2"),
    ("PUT", "/shelf/items/B-2"),  # 405, both methods allowed
    ("GET", "/shelf/items"),  # 404 under a known prefix
    ("GET", "/shelf/loose"),  # slash redirect
    ("GET", "/shelf/items/A-1/"),  # slash redirect the other way
    ("GET", "/till/drawer"),  # a router's route at its prefix
    ("DELETE", "/till/drawer/7"),
    ("DELETE", "/till/drawer/seven"),  # the convertor refuses: 404
    ("GET", "/till/drawer/7"),  # 405
    ("GET", "/till"),
    ("GET", "/nowhere"),
    ("GET", "/"),
    ("POST", "/health"),  # 405 from the operational route
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_every_request_is_answered_as_fastapi_routes_it(
    clients: tuple[TestClient, TestClient], method: str, path: str
) -> None:
    baobab, plain = clients
    if path == "/health":
        plain.app.router.add_api_route("/health", _health, methods=["GET"])  # type: ignore[attr-defined]
    got, expected = baobab.request(method, path), plain.request(method, path)
    assert got.status_code == expected.status_code
    assert _body(got) == _body(expected)
    for header in ("allow", "location", "content-type"):
        assert got.headers.get(header) == expected.headers.get(header)


async def _health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def _body(response: object) -> object:
    text: str = response.text  # type: ignore[attr-defined]
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, dict):
        decoded.pop("request_id", None)  # made by Baobab's middleware only
    return decoded


def test_the_table_covers_every_prefix_and_keeps_the_routers_order() -> None:
    table = dispatch.routing_table(_baobab_app().router)
    assert set(table) == {"health", "ready", "metrics", "shelf", "till"}
    assert [route.path for route, _ in table["shelf"]] == [
        "/shelf/items/special",
        "/shelf/items/{code}",
        "/shelf/items/{code}",
        "/shelf/loose/",
    ]


def test_a_route_under_a_path_parameter_leaves_routing_to_fastapi() -> None:
    anywhere = APIRouter()

    @anywhere.get("/{tenant}/status")
    async def status(tenant: str) -> dict[str, str]:
        return {"tenant": tenant}

    app = create_http_app(
        title="t",
        version="t",
        routers=[*_routers(), anywhere],
        verifier=_NoTokens(),
        check_ready=lambda: None,
    )
    assert dispatch.routing_table(app.router) == {}
    with TestClient(app) as client:
        assert client.get("/shelf/status").json() == {"tenant": "shelf"}
        assert client.get("/shelf/items/A-1").json() == {"item": "A-1"}


def test_a_route_added_after_the_app_is_built_is_still_served() -> None:
    app = _baobab_app()

    @app.get("/shelf/late")
    async def late() -> dict[str, str]:
        return {"late": "yes"}

    with TestClient(app) as client:
        assert client.get("/shelf/late").json() == {"late": "yes"}
        assert client.get("/shelf/items/special").json() == {"item": "special"}


def test_the_access_log_and_metrics_name_the_template(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(_baobab_app()) as client, caplog.at_level("INFO", "baobab.access"):
        client.get("/shelf/items/SECRET-7")
        client.get("/till/drawer/8")  # 405: matched on the path alone
        metrics = client.get("/metrics").text
    routes = [record.__dict__["route"] for record in caplog.records]
    assert routes[:2] == ["/shelf/items/{code}", "/till/drawer/{number:int}"]
    assert 'route="/shelf/items/{code}"' in metrics
    assert "SECRET" not in metrics
