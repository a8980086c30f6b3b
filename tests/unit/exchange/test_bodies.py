"""Message bodies kept in the log only where configured, AES-GCM encrypted under a named key and
bound to their message, part and signed digest."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baobab.directory import ClientId, ServiceRef
from baobab.exchange import ConsumerCall, Gateway, MessageLog, ServiceCatalog, ServiceRegistry
from baobab.exchange.adapters.body_cipher import (
    AesGcmBodyCipher,
    InvalidKeystore,
    load_body_cipher,
)
from baobab.exchange.domain import BodyUnreadable, NoStoredBody
from baobab.kernel.clock import ManualClock
from baobab.kernel.signing import Signer, b64url
from tests.unit.exchange.fakes import (
    FakeConsent,
    FakeDirectory,
    FakeUnitOfWork,
    ScriptedProvider,
    _State,
)

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CLIENT = ClientId.parse("DEV/GOV/MOSA/benefits")
PROVIDER = ClientId.parse("DEV/GOV/CRVS/registry")


def cipher(key_id: str = "k1") -> AesGcmBodyCipher:
    return AesGcmBodyCipher({key_id: os.urandom(32)}, active=key_id)


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def exchange(state: _State, log: MessageLog, *, keep: bool) -> str:
    clock = ManualClock(START)
    registry = ServiceRegistry(uow=lambda: FakeUnitOfWork(state), clock=clock)
    if not state.services:
        registry.register(
            actor="t", provider=PROVIDER, code="births", version="1", base_url="http://crvs.test"
        )
    directory = FakeDirectory()
    directory.rights.add((CLIENT, ServiceRef(PROVIDER, "births")))
    gateway = Gateway(
        catalog=ServiceCatalog(registry, ttl=0),
        access=directory,
        keys=directory,
        provider=ScriptedProvider(),
        log=log,
        consent=FakeConsent(),
        signer=Signer.generate(),
        clock=clock,
        keep_bodies=keep,
    )
    answer = asyncio.run(
        gateway.exchange(
            ConsumerCall(
                client_id=str(CLIENT),
                claimed_client=str(CLIENT),
                provider=PROVIDER,
                service_code="births",
                method="POST",
                target="/births",
                headers={"x-road-client": str(CLIENT)},
                body=_body(b'{"name":"Amina"}'),
            )
        )
    )
    assert answer.error is None
    return answer.message_id


def test_bodies_are_kept_encrypted_and_read_back() -> None:
    state = _State()
    log = MessageLog(
        uow=lambda: FakeUnitOfWork(state),
        signer=Signer.generate(),
        clock=ManualClock(START),
        cipher=cipher(),
    )
    message_id = exchange(state, log, keep=True)
    assert {(b.part, b.key_id) for b in state.bodies} == {("request", "k1"), ("response", "k1")}
    assert all(b"Amina" not in b.ciphertext for b in state.bodies)
    assert log.bodies(message_id) == {"request": b'{"name":"Amina"}', "response": b'{"ok":true}'}
    entry = json.dumps(dict(log.entry(message_id).payload))
    assert "Amina" not in entry


def test_no_bodies_are_kept_unless_configured() -> None:
    state = _State()
    log = MessageLog(
        uow=lambda: FakeUnitOfWork(state), signer=Signer.generate(), clock=ManualClock(START)
    )
    message_id = exchange(state, log, keep=False)
    assert state.bodies == []
    with pytest.raises(NoStoredBody):
        log.bodies(message_id)


def test_a_body_moved_or_altered_does_not_open() -> None:
    state = _State()
    log = MessageLog(
        uow=lambda: FakeUnitOfWork(state),
        signer=Signer.generate(),
        clock=ManualClock(START),
        cipher=cipher(),
    )
    first = exchange(state, log, keep=True)
    second = exchange(state, log, keep=True)
    request = next(b for b in state.bodies if b.message_id == first and b.part == "request")
    state.bodies = [b for b in state.bodies if b.message_id != second]
    state.bodies.append(replace(request, message_id=second))  # replayed under another message
    with pytest.raises(BodyUnreadable):
        log.bodies(second)
    altered = replace(
        request, ciphertext=bytes([request.ciphertext[0] ^ 1]) + request.ciphertext[1:]
    )
    state.bodies = [altered]
    with pytest.raises(BodyUnreadable):
        log.bodies(first)


def test_a_rotated_keystore_still_opens_old_bodies(tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    key_id, nonce, sealed = AesGcmBodyCipher({"old": old_key}, active="old").seal(
        b"body", context=b"ctx"
    )
    path = tmp_path / "bodies.json"
    path.write_text(
        json.dumps({"active": "new", "keys": {"old": b64url(old_key), "new": b64url(new_key)}})
    )
    rotated = load_body_cipher(path, production=True)
    assert rotated.open(key_id, nonce, sealed, context=b"ctx") == b"body"
    assert rotated.seal(b"next", context=b"ctx")[0] == "new"
    with pytest.raises(BodyUnreadable):
        rotated.open("gone", nonce, sealed, context=b"ctx")


def test_keystores_are_checked(tmp_path: Path) -> None:
    generated = tmp_path / "dev.json"
    cipher_ = load_body_cipher(generated, production=False)
    assert cipher_.open(*cipher_.seal(b"x", context=b"c"), context=b"c") == b"x"
    with pytest.raises(InvalidKeystore):
        load_body_cipher(generated, production=True)  # a generated keystore is for development
    with pytest.raises(InvalidKeystore):
        load_body_cipher(tmp_path / "missing.json", production=True)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"active": "a", "keys": {"a": b64url(b"short")}}))
    with pytest.raises(InvalidKeystore):
        load_body_cipher(short, production=False)
    with pytest.raises(InvalidKeystore):
        AesGcmBodyCipher({"a": os.urandom(32)}, active="b")
