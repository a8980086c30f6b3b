"""What a test does over HTTP: submit packets, enrol people, read the OTP from the outbox."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.identity.people import packet
from tests.support import Caller


def submit(api: TestClient, caller: Caller, body: dict[str, Any]) -> Any:
    return api.post(
        "/identity/packets", json={"packet": caller.signer.encode(body)}, headers=caller.headers
    )


def otp_code(api: TestClient, operator: Caller, address: str) -> str:
    [message] = api.get(
        "/identity/dev/outbox", params={"address": address, "limit": 1}, headers=operator.headers
    ).json()
    text: str = message["text"]
    return next(w.rstrip(".") for w in text.split() if w.rstrip(".").isdigit())


def enrol(api: TestClient, caller: Caller, packet_id: str, demographics: dict[str, Any]) -> str:
    response = submit(api, caller, packet(packet_id, demographics))
    assert response.status_code == 200, response.json()
    uin: str = response.json()["uin"]
    return uin
