"""Evidence bundles over fakes: a bundle verifies offline; every single changed byte, anywhere
in the file, makes it fail; a bundle re-signed by another key fails against the trusted key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from baobab.directory import ClientId, PublicKey
from baobab.exchange import MessageLog, MessageRecord, verify_bundle
from baobab.exchange.domain import RESPONSE_JWS_TYPE, sign_detached
from baobab.exchange.evidence import build_bundle
from baobab.kernel.clock import ManualClock
from baobab.kernel.signing import Signer
from tests.unit.exchange.fakes import FakeUnitOfWork, _State

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


class NoKeys:
    def keys_of(self, client_id: ClientId) -> list[PublicKey]:
        return []


def bundle_for(signer: Signer, *, entries: int = 5, pick: int = 2) -> bytes:
    state = _State()
    log = MessageLog(uow=lambda: FakeUnitOfWork(state), signer=signer, clock=ManualClock(START))
    records = [
        MessageRecord(f"m-{i}", "DEV/A/B/c", "DEV/X/Y/z/svc", START, START, "ok")
        for i in range(entries)
    ]
    log.append_batch(records)
    return log.evidence(f"m-{pick}", keys=NoKeys())


def test_a_bundle_verifies_and_every_changed_byte_fails() -> None:
    signer = Signer.generate()
    bundle = bundle_for(signer)
    report = verify_bundle(bundle, trusted_kid=signer.kid)
    assert report.valid, report.checks
    assert report.message_id == "m-2"
    for position in range(len(bundle)):
        for flip in (0x01,):
            changed = bytearray(bundle)
            changed[position] ^= flip
            assert not verify_bundle(bytes(changed)).valid, (position, flip)


def test_a_non_canonical_spelling_is_refused() -> None:
    bundle = bundle_for(Signer.generate())
    pretty = json.dumps(json.loads(bundle), indent=1).encode() + b"\n"
    assert not verify_bundle(pretty).valid
    assert not verify_bundle(b"[1]\n").valid
    assert not verify_bundle(b"\xff").valid


def test_a_bundle_signed_by_another_key_fails_against_the_trusted_one() -> None:
    trusted, forger = Signer.generate(), Signer.generate()
    forged = bundle_for(forger)
    assert verify_bundle(forged).valid  # consistent in itself...
    assert not verify_bundle(forged, trusted_kid=trusted.kid).valid  # ...but not the operator's


def test_a_provider_signature_in_the_bundle_is_checked() -> None:
    signer, provider = Signer.generate(), Signer.generate()
    log_state = _State()
    log = MessageLog(uow=lambda: FakeUnitOfWork(log_state), signer=signer, clock=ManualClock(START))
    response = {"typ": "baobab-xroad-response/1", "id": "m-1", "request_hash": "h"}
    record = MessageRecord(
        "m-1",
        "DEV/A/B/c",
        "DEV/X/Y/z/svc",
        START,
        START,
        "ok",
        request={"typ": "r"},
        request_hash="h",
        response=response,
        provider_signature=sign_detached(provider, response, typ=RESPONSE_JWS_TYPE, iat=1),
    )
    (entry,) = log.append_batch([record])
    sealed = log.checkpoint()
    assert sealed is not None
    for keys, ok in (([provider.public_jwk()], True), ([signer.public_jwk()], False)):
        data = build_bundle(
            signer=signer,
            entry=entry,
            checkpoint=sealed,
            proof=[],
            provider_keys=keys,
            exported_at=START,
        )
        checks = dict(verify_bundle(data).checks)
        assert checks["the response is signed by the provider's key"] is ok
