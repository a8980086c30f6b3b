"""Every route of every block refuses a caller without a token (401) and one without the right
scope (403). New routes are covered the moment they are mounted."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from tests.support import register

PUBLIC = {
    "/health",
    "/ready",
    "/metrics",
    "/directory/oauth2/token",
    "/directory/jwks.json",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def protected_routes(api: TestClient) -> list[tuple[str, str]]:
    """Every (method, concrete path) the app documents, except the public ones."""
    routes: list[tuple[str, str]] = []
    for template, operations in api.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        if template in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


def test_there_are_protected_routes(api: TestClient) -> None:
    assert len(protected_routes(api)) >= 12


def test_every_route_needs_a_token_and_a_scope(api: TestClient, platform: Platform) -> None:
    nobody = register(platform, "GOV/NOBODY/sub")  # a valid token without any scope
    for method, path in protected_routes(api):
        anonymous = api.request(method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["code"] == "auth.missing_token"
        bad = api.request(method, path, headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401, (method, path)
        unscoped = api.request(method, path, headers=nobody.headers)
        assert unscoped.status_code == 403, (method, path, unscoped.text)
        assert unscoped.json()["code"] == "auth.missing_scope"
