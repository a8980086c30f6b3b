"""Detached signatures over signed contents, their strictness, and service descriptions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baobab.directory import ClientId
from baobab.exchange import Service
from baobab.exchange.domain import (
    REQUEST_JWS_TYPE,
    RESPONSE_JWS_TYPE,
    InvalidService,
    content_hash,
    request_content,
    sign_detached,
    verify_detached,
)
from baobab.kernel.signing import Signer, b64url, b64url_decode

NOW = datetime(2026, 1, 15, tzinfo=UTC)
PROVIDER = ClientId.parse("DEV/GOV/CRVS/registry")


def content(**changes: str) -> dict[str, object]:
    fields = {
        "message_id": "m-1",
        "client": "DEV/GOV/MOSA/benefits",
        "service": "DEV/GOV/CRVS/registry/births",
        "method": "get",
        "target": "/births/1",
        "body_digest": "x",
    }
    fields.update(changes)
    return request_content(headers={"x-road-id": "c-1"}, **fields)


@pytest.mark.parametrize("curve", ["Ed25519", "P-256"])
def test_a_detached_signature_verifies_only_its_content(curve: str) -> None:
    signer = Signer.generate(curve)
    keys = [signer.verification_key]
    jws = sign_detached(signer, content(), typ=REQUEST_JWS_TYPE, iat=1)
    assert jws.split(".")[1] == ""
    assert verify_detached(jws, content(), keys, typ=REQUEST_JWS_TYPE) == keys[0]
    assert verify_detached(jws, content(target="/births/2"), keys, typ=REQUEST_JWS_TYPE) is None
    assert verify_detached(jws, content(), keys, typ=RESPONSE_JWS_TYPE) is None
    assert (
        verify_detached(jws, content(), [Signer.generate().verification_key], typ=REQUEST_JWS_TYPE)
        is None
    )
    assert content()["method"] == "GET"


def test_a_second_spelling_of_the_signature_is_refused() -> None:
    signer = Signer.generate()
    jws = sign_detached(signer, content(), typ=REQUEST_JWS_TYPE, iat=1)
    header, _, signature = jws.split(".")
    raw = b64url_decode(signature)
    # Ed25519 signatures are 64 bytes: the last base64url character carries 4 unused bits
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(signature[-1])
    twin = (
        signature[:-1]
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
    )
    assert b64url_decode(twin) == raw
    assert b64url(raw) != twin
    keys = [signer.verification_key]
    assert verify_detached(f"{header}..{twin}", content(), keys, typ=REQUEST_JWS_TYPE) is None
    for broken in ("", "a.b", f"{header}.x.{signature}", f"{header}..", "..."):
        assert verify_detached(broken, content(), keys, typ=REQUEST_JWS_TYPE) is None


def test_the_request_hash_depends_on_every_field() -> None:
    base = content_hash(content())
    assert content_hash(content()) == base
    assert content_hash(content(body_digest="y")) != base
    assert content_hash(content(method="POST")) != base


def service(**changes: object) -> Service:
    fields: dict[str, object] = {
        "provider": PROVIDER,
        "code": "births",
        "version": "1",
        "base_url": "https://crvs.example/api",
        "created_at": NOW,
    }
    fields.update(changes)
    return Service(**fields)  # type: ignore[arg-type]


def test_a_service_description_is_checked() -> None:
    assert service().name == "DEV/GOV/CRVS/registry/births"
    for bad in (
        {"code": "no spaces"},
        {"version": ""},
        {"base_url": "ftp://x"},
        {"base_url": "https://x/?q=1"},
        {"description": "x" * 501},
        {"personal_data": True},
        {"personal_data": True, "agreement_id": "a-1"},
        {"purposes": ("Not Valid",)},
    ):
        with pytest.raises(InvalidService):
            service(**bad)
    ok = service(personal_data=True, agreement_id="a-1", purposes=("ekyc",))
    assert ok.personal_data
