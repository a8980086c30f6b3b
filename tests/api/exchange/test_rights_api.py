"""Access groups and endpoint rights over HTTP: an admin grants a group one endpoint, a member
of the group may call that endpoint and nothing else, and revoking closes it again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.exchange.test_exchange_api import client_headers, gateway_path
from tests.integration.exchange.conftest import Exchange
from tests.support import register


def test_a_group_right_opens_one_endpoint_until_revoked(
    xapi: TestClient, exchange: Exchange
) -> None:
    platform = exchange.platform
    treasury = register(platform, "GOV/MOF/treasury", scopes=("exchange:call",))
    admin = register(platform, "GOV/OPS/console", scopes=("exchange:admin", "exchange:read"))
    path = gateway_path(exchange)

    refused = xapi.get(path, headers=client_headers(treasury))
    assert refused.status_code == 403
    assert refused.headers["X-Road-Error"] == "directory.access_denied"

    created = xapi.post(
        "/exchange/groups",
        json={"code": "finance", "description": "finance"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    member = xapi.put(
        f"/exchange/groups/finance/members/{treasury.client_id}", headers=admin.headers
    )
    assert member.json()["members"] == [str(treasury.client_id)]
    right = {
        "subject": "group:finance",
        "provider": str(exchange.provider.client_id),
        "service_code": "births",
        "method": "GET",
        "path": "/births/*",
    }
    granted = xapi.post("/exchange/rights", json=right, headers=admin.headers)
    assert granted.status_code == 201, granted.text
    assert [r["right_id"] for r in xapi.get("/exchange/rights", headers=admin.headers).json()] == [
        granted.json()["right_id"]
    ]

    assert xapi.get(path, headers=client_headers(treasury)).status_code == 200
    allowed = xapi.get("/exchange/allowed", headers=treasury.headers).json()
    assert [s["service_code"] for s in allowed] == ["births"]
    other_method = xapi.post(path, content=b"{}", headers=client_headers(treasury))
    assert other_method.headers["X-Road-Error"] == "directory.access_denied"

    bad = xapi.post("/exchange/rights", json={**right, "method": "FETCH"}, headers=admin.headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "exchange.invalid_right"
    unknown = xapi.post(
        "/exchange/rights", json={**right, "subject": "group:none"}, headers=admin.headers
    )
    assert unknown.status_code == 404

    revoked = xapi.delete(f"/exchange/rights/{granted.json()['right_id']}", headers=admin.headers)
    assert revoked.status_code == 204
    assert xapi.get(path, headers=client_headers(treasury)).status_code == 403
    assert xapi.get("/exchange/allowed", headers=treasury.headers).json() == []


def test_only_enabled_directory_subsystems_join_a_group(
    xapi: TestClient, exchange: Exchange
) -> None:
    platform = exchange.platform
    admin = register(platform, "GOV/OPS/console", scopes=("exchange:admin", "exchange:read"))
    xapi.post("/exchange/groups", json={"code": "finance"}, headers=admin.headers)
    instance = platform.settings.instance
    unknown = xapi.put(
        f"/exchange/groups/finance/members/{instance}/GOV/OPS/ghost", headers=admin.headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "exchange.unknown_subsystem"
    treasury = register(platform, "GOV/MOF/treasury")
    platform.directory.set_enabled(actor="t", client_id=treasury.client_id, enabled=False)
    disabled = xapi.put(
        f"/exchange/groups/finance/members/{treasury.client_id}", headers=admin.headers
    )
    assert disabled.status_code == 409
    assert disabled.json()["code"] == "exchange.subsystem_disabled"
    (group,) = xapi.get("/exchange/groups", headers=admin.headers).json()
    assert group["members"] == []


def test_granting_needs_the_admin_scope(xapi: TestClient, exchange: Exchange) -> None:
    reader = register(exchange.platform, "GOV/AUD/office", scopes=("exchange:read",))
    answer = xapi.post("/exchange/groups", json={"code": "x"}, headers=reader.headers)
    assert answer.status_code == 403
    assert answer.json()["code"] == "auth.missing_scope"


def test_bodies_are_not_served_when_not_kept(xapi: TestClient, exchange: Exchange) -> None:
    admin = register(exchange.platform, "GOV/OPS/console", scopes=("exchange:admin",))
    answer = xapi.get(gateway_path(exchange), headers=client_headers(exchange.ministry))
    message_id = answer.headers["X-Road-Request-Id"]
    stored = xapi.get(f"/exchange/messages/{message_id}/bodies/request", headers=admin.headers)
    assert stored.status_code == 404
    assert stored.json()["code"] == "exchange.no_stored_body"
