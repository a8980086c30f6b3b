"""The OAuth 2.0 token endpoint over HTTP: RFC 6749 error shapes, no caching, audited refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.directory import JWT_BEARER, client_assertion
from baobab.infra.audit import read_audit
from baobab.kernel.clock import ManualClock
from tests.support import Caller, register

TOKEN = "/directory/oauth2/token"


def form(caller: Caller, platform: Platform, **extra: str) -> dict[str, str]:
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


def test_a_token_is_issued_and_works(api: TestClient, platform: Platform) -> None:
    ministry = register(platform, "GOV/MOF/treasury", scopes=("directory:read",))
    response = api.post(TOKEN, data=form(ministry, platform, scope="directory:read"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        300,
        "directory:read",
    )
    members = api.get(
        "/directory/members", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert members.status_code == 200


def test_the_instance_keys_are_published(api: TestClient, platform: Platform) -> None:
    keys = api.get("/directory/jwks.json").json()["keys"]
    assert keys == [platform.signer.public_jwk()]
    assert "d" not in keys[0]


@pytest.mark.parametrize(
    ("data", "status", "error", "code"),
    [
        ({}, 400, "unsupported_grant_type", "directory.unsupported_grant_type"),
        (
            {"grant_type": "client_credentials"},
            400,
            "invalid_request",
            "directory.invalid_token_request",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": "x.y",
            },
            401,
            "invalid_client",
            "directory.invalid_client_assertion",
        ),
    ],
)
def test_malformed_token_requests(
    api: TestClient, data: dict[str, str], status: int, error: str, code: str
) -> None:
    response = api.post(TOKEN, data=data)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["code"] == code
    assert response.headers["cache-control"] == "no-store"


def test_a_json_body_is_not_a_token_request(api: TestClient) -> None:
    response = api.post(TOKEN, json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_replayed_and_expired_assertions_are_refused_and_audited(
    api: TestClient, platform: Platform, clock: ManualClock
) -> None:
    ministry = register(platform, "GOV/MOF/treasury", scopes=("directory:read",))
    data = form(ministry, platform)
    assert api.post(TOKEN, data=data).status_code == 200
    replay = api.post(TOKEN, data=data)
    assert (replay.status_code, replay.json()["code"]) == (
        401,
        "directory.client_assertion_replayed",
    )
    late = form(ministry, platform)
    clock.advance(timedelta(minutes=5))
    expired = api.post(TOKEN, data=late)
    assert (expired.status_code, expired.json()["code"]) == (
        401,
        "directory.client_assertion_expired",
    )
    refusals = [
        e for e in read_audit(platform.db, limit=1000) if e.action == "directory.token_refused"
    ]
    assert [(e.actor, e.details["code"]) for e in refusals] == [
        ("DEV/GOV/MOF/treasury", "directory.client_assertion_replayed"),
        ("DEV/GOV/MOF/treasury", "directory.client_assertion_expired"),
    ]


def test_an_expired_access_token_is_refused(
    api: TestClient, platform: Platform, clock: ManualClock
) -> None:
    ministry = register(platform, "GOV/MOF/treasury", scopes=("directory:read",))
    assert api.get("/directory/members", headers=ministry.headers).status_code == 200
    clock.advance(timedelta(seconds=platform.settings.access_token_ttl_seconds))
    response = api.get("/directory/members", headers=ministry.headers)
    assert response.status_code == 401
    assert response.json()["code"] == "directory.invalid_access_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
