"""The exchange over HTTP: the gateway's X-Road headers and refusals, the registry and log
routes, evidence, and deny by default on every route."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from baobab.directory import ServiceRef
from baobab.exchange import verify_bundle
from tests.integration.exchange.conftest import Exchange
from tests.support import Caller, register, token_for


def gateway_path(exchange: Exchange, target: str = "births/B-2025-000117") -> str:
    return f"/exchange/r1/{exchange.provider.client_id}/births/{target}"


def client_headers(caller: Caller, header: str = "X-Road-Client") -> dict[str, str]:
    return {**caller.headers, header: str(caller.client_id)}


@pytest.mark.parametrize(
    "header", ["X-Road-Client", "Information-Mediator-Client", "X-GovStack-Client"]
)
def test_a_granted_call_answers_with_x_road_headers(
    xapi: TestClient, exchange: Exchange, header: str
) -> None:
    ministry = exchange.ministry
    response = xapi.get(
        gateway_path(exchange),
        headers={**client_headers(ministry, header), "X-Road-Id": "case-7"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["district"] == "North"
    assert response.headers["X-Road-Id"] == "case-7"
    message_id = response.headers["X-Road-Request-Id"]
    entry = xapi.get(f"/exchange/messages/{message_id}", headers=ministry.headers).json()
    assert response.headers["X-Road-Request-Hash"] == entry["payload"]["request_hash"]
    assert entry["payload"]["x_road_id"] == "case-7"


def test_post_bodies_pass_through(xapi: TestClient, exchange: Exchange) -> None:
    response = xapi.post(
        gateway_path(exchange, "echo"), headers=client_headers(exchange.ministry), json={"q": 1}
    )
    assert response.status_code == 200
    assert response.json() == {"q": 1}


def test_a_method_the_protocol_does_not_carry_is_refused_unlogged(
    xapi: TestClient, exchange: Exchange
) -> None:
    before = exchange.log.verify().entries
    response = xapi.options(gateway_path(exchange), headers=client_headers(exchange.ministry))
    assert response.status_code == 405
    assert response.json()["status"] == 405
    assert exchange.log.verify().entries == before  # nothing reached the gateway


def test_a_refused_call_answers_problem_json_with_the_request_id(
    xapi: TestClient, exchange: Exchange
) -> None:
    response = xapi.get(gateway_path(exchange), headers={"X-Request-Id": "req-42"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["request_id"] == "req-42"
    assert response.json()["instance"] == gateway_path(exchange)


def test_refusals_carry_x_road_error(xapi: TestClient, exchange: Exchange) -> None:
    ministry = exchange.ministry
    cases = [
        ({}, gateway_path(exchange), 401, "auth.missing_token"),
        (ministry.headers, gateway_path(exchange), 400, "exchange.missing_client"),
        (
            {**ministry.headers, "X-Road-Client": "DEV/GOV/MOF/treasury"},
            gateway_path(exchange),
            401,
            "exchange.client_mismatch",
        ),
        (
            {
                **client_headers(ministry),
                "Information-Mediator-Client": "DEV/GOV/MOF/treasury",
            },
            gateway_path(exchange),
            401,
            "exchange.client_mismatch",
        ),
        (
            client_headers(ministry),
            f"/exchange/r1/{exchange.provider.client_id}/deaths/x",
            404,
            "exchange.unknown_service",
        ),
        (
            client_headers(ministry),
            "/exchange/r1/DEV/GOV/bad id/registry/births/x",
            400,
            "directory.invalid_identifier",
        ),
    ]
    for headers, path, status, code in cases:
        response = xapi.get(path, headers=headers)
        assert response.status_code == status, (code, response.text)
        assert response.headers["X-Road-Error"] == code
        assert response.json()["code"] == code


def test_a_caller_without_the_right_is_refused(xapi: TestClient, exchange: Exchange) -> None:
    outsider = register(exchange.platform, "COM/ADCO/marketing", scopes=("exchange:call",))
    response = xapi.get(gateway_path(exchange), headers=client_headers(outsider))
    assert response.status_code == 403
    assert response.headers["X-Road-Error"] == "directory.access_denied"
    assert "X-Road-Request-Id" in response.headers


def test_a_body_over_the_limit_is_refused(xapi: TestClient, exchange: Exchange) -> None:
    response = xapi.post(
        gateway_path(exchange, "echo"),
        headers=client_headers(exchange.ministry),
        content=b"x" * (64 * 1024 + 1),
    )
    assert response.status_code == 413
    assert response.headers["X-Road-Error"] == "exchange.body_too_large"


def test_services_are_registered_listed_switched_and_removed(
    xapi: TestClient, exchange: Exchange
) -> None:
    admin = register(
        exchange.platform, "GOV/OPS/xadmin", scopes=("exchange:admin", "exchange:read")
    )
    body = {
        "provider": str(exchange.provider.client_id),
        "service_code": "deaths",
        "base_url": "https://crvs.example/api",
        "personal_data": True,
        "agreement_id": "agr-9",
        "purposes": ["pension-stop"],
    }
    created = xapi.post("/exchange/services", headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["service"].endswith("/registry/deaths")
    again = xapi.post("/exchange/services", headers=admin.headers, json=body)
    assert again.status_code == 409
    listed = xapi.get("/exchange/services", headers=admin.headers).json()
    assert {s["service_code"] for s in listed} == {"births", "deaths"}
    path = f"/exchange/services/{exchange.provider.client_id}/deaths"
    off = xapi.patch(path, headers=admin.headers, json={"enabled": False})
    assert off.json()["enabled"] is False
    assert xapi.get(path, headers=admin.headers).json()["enabled"] is False
    assert xapi.delete(path, headers=admin.headers).status_code == 204
    assert xapi.get(path, headers=admin.headers).status_code == 404
    bad = xapi.post("/exchange/services", headers=admin.headers, json={**body, "purposes": []})
    assert bad.status_code == 400


def test_evidence_is_for_parties_and_readers(xapi: TestClient, exchange: Exchange) -> None:
    response = xapi.get(gateway_path(exchange), headers=client_headers(exchange.ministry))
    message_id = response.headers["X-Road-Request-Id"]
    evidence = xapi.get(
        f"/exchange/messages/{message_id}/evidence", headers=exchange.ministry.headers
    )
    assert evidence.status_code == 200
    assert verify_bundle(evidence.content, trusted_kid=exchange.platform.signer.kid).valid
    stranger = register(exchange.platform, "COM/OTHER/app", scopes=("exchange:call",))
    denied = xapi.get(f"/exchange/messages/{message_id}/evidence", headers=stranger.headers)
    assert denied.status_code == 403
    reader = register(exchange.platform, "GOV/AUDIT/office", scopes=("exchange:read",))
    assert xapi.get(f"/exchange/messages/{message_id}", headers=reader.headers).status_code == 200
    assert xapi.get("/exchange/messages/nope", headers=reader.headers).status_code == 404


def test_the_log_verifies_and_seals_over_http(xapi: TestClient, exchange: Exchange) -> None:
    admin = register(
        exchange.platform, "GOV/OPS/xadmin", scopes=("exchange:admin", "exchange:read")
    )
    xapi.get(gateway_path(exchange), headers=client_headers(exchange.ministry))
    sealed = xapi.post("/exchange/log/checkpoints", headers=admin.headers).json()
    assert (sealed["first"], sealed["last"]) == (1, 1)
    assert xapi.post("/exchange/log/checkpoints", headers=admin.headers).json() is None
    verdict = xapi.get("/exchange/log/verify", headers=admin.headers).json()
    assert verdict == {"intact": True, "entries": 1, "checkpoints": 1, "problems": []}


def test_every_exchange_route_needs_a_token_and_a_scope(
    xapi: TestClient, exchange: Exchange
) -> None:
    nobody = register(exchange.platform, "GOV/NOBODY/sub")
    paths = xapi.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", template))
        for template, operations in paths.items()
        if template.startswith("/exchange")
        for method in operations
    ]
    assert len(routes) >= 12
    for method, path in routes:
        anonymous = xapi.request(method, path)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["code"] == "auth.missing_token"
        unscoped = xapi.request(method, path, headers=nobody.headers)
        assert unscoped.status_code == 403, (method, path, unscoped.text)
        assert unscoped.json()["code"] == "auth.missing_scope"


def test_discovery_lists_clients_services_allowed_and_openapi(
    xapi: TestClient, exchange: Exchange
) -> None:
    ministry = exchange.ministry
    clients = xapi.get("/exchange/clients", headers=ministry.headers).json()
    assert {c["client_id"] for c in clients} >= {
        str(ministry.client_id),
        str(exchange.provider.client_id),
    }
    services = xapi.get("/exchange/services", headers=ministry.headers).json()
    assert [s["service_code"] for s in services] == ["births"]
    allowed = xapi.get("/exchange/allowed", headers=ministry.headers).json()
    assert [s["service_code"] for s in allowed] == ["births"]
    outsider = register(exchange.platform, "COM/ADCO/marketing", scopes=("exchange:call",))
    assert xapi.get("/exchange/allowed", headers=outsider.headers).json() == []
    path = f"/exchange/services/{exchange.provider.client_id}/births/openapi"
    assert xapi.get(path, headers=ministry.headers).status_code == 404
    exchange.registry.register(
        actor="test",
        provider=exchange.provider.client_id,
        code="deaths",
        version="2",
        base_url="https://crvs.example",
        openapi={"openapi": "3.1.0", "info": {"title": "Deaths", "version": "2"}},
    )
    path = f"/exchange/services/{exchange.provider.client_id}/deaths/openapi"
    assert xapi.get(path, headers=ministry.headers).json()["info"]["title"] == "Deaths"


def test_monitoring_counts_messages_without_payloads(xapi: TestClient, exchange: Exchange) -> None:
    reader = register(exchange.platform, "GOV/OPS/monitor", scopes=("exchange:read",))
    xapi.get(gateway_path(exchange), headers=client_headers(exchange.ministry))
    xapi.get(gateway_path(exchange, "births/nope"), headers=client_headers(exchange.ministry))
    (stats,) = xapi.get("/exchange/monitoring", headers=reader.headers).json()
    assert stats["client"] == str(exchange.ministry.client_id)
    assert stats["messages"] == 2
    assert stats["outcomes"] == {"ok": 2}  # a 404 from the provider is still a delivered answer
    metrics = xapi.get("/metrics").text
    assert "baobab_exchange_messages_total" in metrics
    assert "B-2025" not in metrics
    assert "nope" not in metrics


def test_pubsub_over_http(xapi: TestClient, exchange: Exchange) -> None:
    owner, ministry = exchange.provider, exchange.ministry
    exchange.platform.directory.grant(
        actor="test", client_id=owner.client_id, service=ServiceRef(None, "exchange:call")
    )
    owner_token = token_for(exchange.platform, owner.client_id, owner.signer)
    as_owner = {"Authorization": f"Bearer {owner_token}"}
    created = xapi.post("/exchange/pubsub/rooms", headers=as_owner, json={"room": "births"})
    assert created.status_code == 201, created.text
    room = f"/exchange/pubsub/rooms/{owner.client_id}/births"
    schema = {"type": "object", "required": ["certificate"]}
    typed = xapi.put(f"{room}/types/birth.registered", headers=as_owner, json={"schema": schema})
    assert typed.status_code == 204, typed.text
    denied = xapi.post(f"{room}/subscriptions", headers=ministry.headers, json={})
    assert denied.status_code == 403
    exchange.platform.directory.grant(
        actor="test",
        client_id=ministry.client_id,
        service=ServiceRef(owner.client_id, "room:births"),
    )
    sub = xapi.post(f"{room}/subscriptions", headers=ministry.headers, json={}).json()
    assert sub["mode"] == "pull"
    event = {"event_type": "birth.registered", "payload": {"certificate": "B-1"}}
    assert xapi.post(f"{room}/events", headers=as_owner, json=event).status_code == 201
    bad = {"event_type": "birth.registered", "payload": {}}
    assert xapi.post(f"{room}/events", headers=as_owner, json=bad).status_code == 400
    assert xapi.post(f"{room}/events", headers=ministry.headers, json=event).status_code == 403
    events_path = f"/exchange/pubsub/subscriptions/{sub['subscription_id']}/events"
    pulled = xapi.get(events_path, headers=ministry.headers).json()
    assert [e["payload"] for e in pulled] == [{"certificate": "B-1"}]
    ack_path = f"/exchange/pubsub/subscriptions/{sub['subscription_id']}/ack"
    acked = xapi.post(ack_path, headers=ministry.headers, json={"up_to": 1})
    assert acked.json() == {"cursor": 1}
    assert xapi.get(events_path, headers=ministry.headers).json() == []
    gone = xapi.delete(
        f"/exchange/pubsub/subscriptions/{sub['subscription_id']}", headers=ministry.headers
    )
    assert gone.status_code == 204
