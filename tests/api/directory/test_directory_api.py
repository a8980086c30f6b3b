"""The directory's HTTP API in process, on SQLite and PostgreSQL: rights enforced, bad input
refused with problem+json and a specific code, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.directory import JWT_BEARER, client_assertion
from baobab.kernel.signing import Signer
from tests.support import Caller, register

MEMBERS = "/directory/members"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:baobab:problem:{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def snapshot(api: TestClient, admin: Caller) -> list[Any]:
    members = api.get(MEMBERS, headers=admin.headers).json()
    rights = api.get("/directory/rights", headers=admin.headers).json()
    return [members, rights]


def test_register_a_member_and_its_subsystem(api: TestClient, admin: Caller) -> None:
    created = api.post(
        MEMBERS,
        json={"member_class": "COM", "member_code": "BANKA", "name": "Bank A", "roles": ["fsp"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["member_id"] == "DEV/COM/BANKA"
    sub = api.post(
        f"{MEMBERS}/DEV/COM/BANKA/subsystems",
        json={"subsystem_code": "payments"},
        headers=admin.headers,
    )
    assert sub.status_code == 201
    assert sub.json()["client_id"] == "DEV/COM/BANKA/payments"
    shown = api.get(f"{MEMBERS}/DEV/COM/BANKA", headers=admin.headers).json()
    assert shown["roles"] == ["fsp"]
    assert [s["client_id"] for s in shown["subsystems"]] == ["DEV/COM/BANKA/payments"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"member_class": "GOV", "member_code": "OPS", "name": "Again", "roles": []},
            409,
            "directory.duplicate_member",
        ),
        (
            {"member_class": "GOV", "member_code": "M O F", "name": "X", "roles": []},
            400,
            "directory.invalid_identifier",
        ),
        (
            {"member_class": "GOV", "member_code": "MOF", "name": "X", "roles": ["king"]},
            400,
            "directory.invalid_role",
        ),
        (
            {"member_class": "GOV", "member_code": "MOF", "name": "", "roles": []},
            400,
            "baobab.invalid_input",
        ),
        (
            {"member_class": "GOV", "member_code": "MOF", "name": "X", "extra": 1},
            422,
            "http.invalid_request",
        ),
        ({"member_class": "GOV", "name": "X"}, 422, "http.invalid_request"),
    ],
)
def test_bad_members_are_refused_and_change_nothing(
    api: TestClient, admin: Caller, body: dict[str, Any], status: int, code: str
) -> None:
    before = snapshot(api, admin)
    problem(api.post(MEMBERS, json=body, headers=admin.headers), status, code)
    assert snapshot(api, admin) == before


def test_malformed_json_is_refused(api: TestClient, admin: Caller) -> None:
    before = snapshot(api, admin)
    response = api.post(
        MEMBERS,
        content=b'{"member_class": ',
        headers={**admin.headers, "content-type": "application/json"},
    )
    body = problem(response, 400, "http.malformed_json")
    assert body["errors"]
    assert snapshot(api, admin) == before


def test_unknown_member_and_subsystem(api: TestClient, admin: Caller) -> None:
    problem(
        api.get(f"{MEMBERS}/DEV/GOV/NOPE", headers=admin.headers), 404, "directory.unknown_member"
    )
    problem(
        api.post(
            f"{MEMBERS}/DEV/GOV/NOPE/subsystems",
            json={"subsystem_code": "x"},
            headers=admin.headers,
        ),
        404,
        "directory.unknown_member",
    )
    problem(
        api.get("/directory/subsystems/DEV/GOV/OPS/nope/keys", headers=admin.headers),
        404,
        "directory.unknown_subsystem",
    )


def test_keys_lifecycle_over_http(api: TestClient, admin: Caller, platform: Platform) -> None:
    bank = register(platform, "COM/BANKA/payments")
    keys = f"/directory/subsystems/{bank.client_id}/keys"
    new = Signer.generate("P-256")
    added = api.post(
        keys,
        json={"jwk": new.public_jwk(), "rotate": True, "grace_seconds": 0},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    assert added.json()["kid"] == new.kid
    statuses = {k["kid"]: k["status"] for k in api.get(keys, headers=admin.headers).json()}
    assert statuses == {bank.signer.kid: "retiring", new.kid: "active"}
    revoked = api.delete(f"{keys}/{new.kid}", headers=admin.headers)
    assert revoked.json()["status"] == "revoked"
    problem(api.delete(f"{keys}/{new.kid}", headers=admin.headers), 409, "directory.key_revoked")
    problem(api.delete(f"{keys}/unknown", headers=admin.headers), 404, "directory.unknown_key")


@pytest.mark.parametrize(
    ("jwk", "code", "status"),
    [
        ({"kty": "RSA", "n": "x", "e": "AQAB"}, "kernel.invalid_key", 400),
        ({"kty": "OKP", "crv": "Ed448", "x": "abc"}, "kernel.invalid_key", 400),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "kernel.invalid_key", 400),
        ({"kty": "OKP", "crv": "Ed25519"}, "kernel.invalid_key", 400),
    ],
)
def test_bad_keys_are_refused(
    api: TestClient, admin: Caller, jwk: dict[str, Any], code: str, status: int
) -> None:
    keys = f"/directory/subsystems/{admin.client_id}/keys"
    before = api.get(keys, headers=admin.headers).json()
    problem(api.post(keys, json={"jwk": jwk}, headers=admin.headers), status, code)
    assert api.get(keys, headers=admin.headers).json() == before


def test_private_and_mismatched_keys_are_refused(api: TestClient, admin: Caller) -> None:
    keys = f"/directory/subsystems/{admin.client_id}/keys"
    signer = Signer.generate()
    body = problem(
        api.post(keys, json={"jwk": signer.private_jwk()}, headers=admin.headers),
        400,
        "kernel.invalid_key",
    )
    assert "private" in body["detail"]
    mismatched = {**signer.public_jwk(), "kid": Signer.generate().kid}
    problem(
        api.post(keys, json={"jwk": mismatched}, headers=admin.headers), 400, "kernel.invalid_key"
    )
    problem(
        api.post(keys, json={"jwk": admin.signer.public_jwk()}, headers=admin.headers),
        409,
        "directory.duplicate_key",
    )


def test_rights_are_granted_listed_and_revoked(
    api: TestClient, admin: Caller, platform: Platform
) -> None:
    bank = register(platform, "COM/BANKA/payments")
    rights = f"/directory/subsystems/{bank.client_id}/rights"
    granted = api.post(rights, json={"service": "directory:read"}, headers=admin.headers)
    assert granted.status_code == 201
    provider = str(admin.client_id)
    api.post(rights, json={"service": "lookup", "provider": provider}, headers=admin.headers)
    listed = [(r["provider"], r["service"]) for r in api.get(rights, headers=admin.headers).json()]
    assert listed == [(None, "directory:read"), (provider, "lookup")]
    assert (
        api.delete(
            rights, params={"service": "lookup", "provider": provider}, headers=admin.headers
        ).status_code
        == 204
    )
    problem(
        api.delete(
            rights, params={"service": "lookup", "provider": provider}, headers=admin.headers
        ),
        404,
        "directory.unknown_right",
    )
    problem(
        api.post(rights, json={"service": "ledger:steal"}, headers=admin.headers),
        400,
        "directory.unknown_scope",
    )
    problem(
        api.post(
            rights, json={"service": "x", "provider": "DEV/GOV/OPS/ghost"}, headers=admin.headers
        ),
        404,
        "directory.unknown_subsystem",
    )
    problem(
        api.post(rights, json={"service": "x", "provider": "garbage"}, headers=admin.headers),
        400,
        "directory.invalid_identifier",
    )


def test_disabling_a_subsystem_stops_new_tokens(
    api: TestClient, admin: Caller, platform: Platform
) -> None:
    bank = register(platform, "COM/BANKA/payments")
    path = f"/directory/subsystems/{bank.client_id}"
    assert (
        api.patch(path, json={"enabled": False}, headers=admin.headers).json()["enabled"] is False
    )
    form = token_form(bank, platform)
    refused = api.post("/directory/oauth2/token", data=form)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def token_form(caller: Caller, platform: Platform, **extra: str) -> dict[str, str]:
    assertion = client_assertion(
        caller.signer,
        client_id=str(caller.client_id),
        audience=platform.settings.token_endpoint,
        now=platform.clock.now(),
    )
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **extra,
    }
