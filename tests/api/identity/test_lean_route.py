"""The lean route class answers every request exactly as FastAPI's own handling does.

The same endpoint is mounted twice, once served by :class:`LeanRoute` and once by a plain
``APIRoute``; every request (good, unauthenticated, unauthorised, malformed) must get the same
status and the same body from both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from baobab.bootstrap import Platform
from baobab.directory import Role
from baobab.identity.api import build_router, require
from baobab.infra.http.app import create_http_app
from baobab.infra.http.lean_route import LeanRoute
from baobab.kernel.principal import Principal
from tests.integration.identity.people import relying_party
from tests.integration.identity.stack import IdentityStack
from tests.support import Caller, register


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(max_length=8)


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=16)
    fields: dict[str, Any] | None = None
    code: Code | None = None


Partner = Annotated[Principal, Depends(require("identity:auth", Role.RELYING_PARTY))]


async def answer(body: Claim, caller: Partner) -> Response:
    text = f'{{"caller":"{caller.client_id}","claim":{body.model_dump_json()}}}'
    return Response(text, media_type="application/json")


def _router() -> APIRouter:
    router = APIRouter(prefix="/t")
    router.add_api_route("/lean", answer, methods=["POST"], route_class_override=LeanRoute)
    router.add_api_route("/plain", answer, methods=["POST"], route_class_override=APIRoute)
    return router


@pytest.fixture
def client(wired: Platform) -> Iterator[TestClient]:
    app = create_http_app(
        title="t",
        version="t",
        routers=[_router()],
        verifier=wired.verifier,
        check_ready=lambda: None,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def bank(wired: Platform) -> Caller:
    return relying_party(wired)


GOOD = b'{"name": "Amina", "fields": {"birth_date": "1990"}, "code": {"value": "123"}}'
JSON = "application/json"


def _cases(bank: Caller, shop: Caller, reader: Caller) -> list[tuple[str, dict[str, str], bytes]]:
    token = bank.headers["Authorization"]
    return [
        ("good", {"authorization": token, "content-type": JSON}, GOOD),
        ("charset", {"authorization": token, "content-type": JSON + "; charset=utf-8"}, GOOD),
        ("no token", {"content-type": JSON}, GOOD),
        ("empty token", {"authorization": "Bearer  ", "content-type": JSON}, GOOD),
        ("other scheme", {"authorization": "Basic abc", "content-type": JSON}, GOOD),
        ("bad token", {"authorization": "Bearer x.y.z", "content-type": JSON}, GOOD),
        ("no scope", {**reader.headers, "content-type": JSON}, GOOD),
        ("no role", {**shop.headers, "content-type": JSON}, GOOD),
        ("not json", {"authorization": token, "content-type": JSON}, b'{"name": '),
        ("not json, no token", {"content-type": JSON}, b"{"),
        ("array", {"authorization": token, "content-type": JSON}, b"[1, 2]"),
        ("array, no token", {"content-type": JSON}, b"[1, 2]"),
        ("extra field", {"authorization": token, "content-type": JSON}, b'{"name": "A", "x": 1}'),
        (
            "too long",
            {"authorization": token, "content-type": JSON},
            b'{"name": "' + b"A" * 20 + b'"}',
        ),
        ("nested", {"authorization": token, "content-type": JSON}, b'{"name": "A", "code": {}}'),
        ("empty body", {"authorization": token, "content-type": JSON}, b""),
        ("text", {"authorization": token, "content-type": "text/plain"}, GOOD),
        ("no content type", {"authorization": token}, GOOD),
        ("upper case", {"authorization": token, "content-type": "Application/JSON"}, GOOD),
    ]


def _seen(response: Any, path: str) -> tuple[int, str]:
    return response.status_code, response.text.replace(path, "/t/*")


def test_the_lean_route_answers_every_request_as_fastapi_does(
    client: TestClient, wired: Platform, bank: Caller
) -> None:
    lean_route = _router().routes[0]
    assert isinstance(lean_route, LeanRoute)
    assert lean_route.lean is not None  # the good requests above go the lean way
    shop = register(wired, "COM/SHOP/app", scopes=("identity:auth",))
    reader = register(wired, "COM/READER/app", scopes=("directory:read",))
    for name, headers, body in _cases(bank, shop, reader):
        same = {**headers, "x-request-id": "r-1"}  # problem documents carry it
        lean = client.post("/t/lean", content=body, headers=same)
        plain = client.post("/t/plain", content=body, headers=same)
        assert _seen(lean, "/t/lean") == _seen(plain, "/t/plain"), name
        assert lean.status_code in (200, 400, 401, 403, 422), name
    good = client.post("/t/lean", content=GOOD, headers={**bank.headers, "content-type": JSON})
    assert good.json() == {
        "caller": str(bank.client_id),
        "claim": {"name": "Amina", "fields": {"birth_date": "1990"}, "code": {"value": "123"}},
    }
    assert client.get("/t/lean", headers=bank.headers).status_code == 405


def test_only_plain_json_endpoints_are_served_lean(stack: IdentityStack) -> None:
    router = build_router(
        enrolment=stack.enrolment,
        identities=stack.identities,
        authentication=stack.auth,
        profiles=stack.profiles,
    )
    routes = {r.path: r for r in router.routes if isinstance(r, APIRoute)}
    hot = routes["/identity/authenticate"]
    assert isinstance(hot, LeanRoute)
    assert hot.lean is not None

    async def returns_a_model(body: Claim, caller: Partner) -> Claim:
        return body

    def blocking(body: Claim, caller: Partner) -> Response:
        return Response()

    async def with_query(body: Claim, caller: Partner, page: int = 1) -> Response:
        return Response()

    for endpoint in (returns_a_model, blocking, with_query):
        assert LeanRoute("/x", endpoint, methods=["POST"]).lean is None, endpoint.__name__
