"""RFC 3161 time-stamps of checkpoints against a local TSA double: a good token verifies, and a
token for another digest, from another authority, altered, refused or replayed does not."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from baobab.exchange import MessageLog, MessageRecord
from baobab.exchange.adapters import der
from baobab.exchange.adapters.tsa import (
    InvalidTimeStamp,
    Rfc3161TimeStamper,
    TimeStampUnavailable,
    check_token,
    time_stamp_request,
)
from baobab.exchange.domain import checkpoint_digest
from baobab.exchange.workers import CheckpointSealer
from baobab.kernel.clock import ManualClock
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer
from tests.unit.exchange.fakes import FakeUnitOfWork, _State
from tests.unit.exchange.tsa_double import TsaDouble

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
DIGEST = hashlib.sha256(b"a checkpoint").digest()


@pytest.fixture
def tsa() -> TsaDouble:
    return TsaDouble(now=START)


def stamper_of(tsa: TsaDouble) -> Rfc3161TimeStamper:
    return Rfc3161TimeStamper.from_pem("http://tsa.test/", tsa.pem(), transport=tsa.transport())


def test_a_token_from_the_authority_verifies(tsa: TsaDouble) -> None:
    stamper = stamper_of(tsa)
    token = asyncio.run(stamper.stamp(DIGEST))
    assert stamper.check(token, DIGEST) == START
    info = check_token(token, DIGEST, tsa.certificate)
    assert (info.imprint, info.serial, info.policy) == (DIGEST, 1, "1.3.6.1.4.1.99999.1")


def test_the_request_is_a_der_time_stamp_request() -> None:
    fields = der.read(time_stamp_request(DIGEST, nonce=42)).children()
    assert fields[0].as_int() == 1
    algorithm, imprint = fields[1].children()
    assert algorithm.children()[0].as_oid() == "2.16.840.1.101.3.4.2.1"
    assert imprint.content == DIGEST
    assert fields[2].as_int() == 42
    assert fields[3].content == b"\xff"  # certReq


def test_a_token_for_another_digest_is_refused(tsa: TsaDouble) -> None:
    token = asyncio.run(stamper_of(tsa).stamp(DIGEST))
    with pytest.raises(InvalidTimeStamp, match="another digest"):
        stamper_of(tsa).check(token, hashlib.sha256(b"other").digest())


def test_a_token_of_another_authority_is_refused(tsa: TsaDouble) -> None:
    token = asyncio.run(stamper_of(TsaDouble()).stamp(DIGEST))
    with pytest.raises(InvalidTimeStamp):
        stamper_of(tsa).check(token, DIGEST)


def test_an_altered_token_is_refused(tsa: TsaDouble) -> None:
    token = bytearray(asyncio.run(stamper_of(tsa).stamp(DIGEST)))
    where = bytes(token).find(b"2026")  # the genTime inside the signed TSTInfo
    token[where + 3] ^= 0x01
    with pytest.raises(InvalidTimeStamp):
        stamper_of(tsa).check(bytes(token), DIGEST)


def test_a_refusal_or_a_wrong_nonce_is_not_a_stamp(tsa: TsaDouble) -> None:
    tsa.status = 2
    with pytest.raises(TimeStampUnavailable):
        asyncio.run(stamper_of(tsa).stamp(DIGEST))
    tsa.status, tsa.nonce_offset = 0, 1
    with pytest.raises(InvalidTimeStamp, match="nonce"):
        asyncio.run(stamper_of(tsa).stamp(DIGEST))


def test_der_reading_is_strict() -> None:
    with pytest.raises(der.DerError):
        der.read(b"\x04\x81\x01x")  # a long-form length for a short value
    with pytest.raises(der.DerError):
        der.read(der.octet_string(b"x") + b"\x00")
    with pytest.raises(der.DerError):
        der.read(b"\x04\x05abc")
    assert der.read(der.oid("1.2.840.113549.1.9.16.1.4")).as_oid() == "1.2.840.113549.1.9.16.1.4"
    assert der.read(der.integer(-129)).as_int() == -129


def _log(state: _State, tsa: TsaDouble, clock: ManualClock) -> MessageLog:
    return MessageLog(
        uow=lambda: FakeUnitOfWork(state),
        signer=Signer.generate(),
        clock=clock,
        stamper=stamper_of(tsa),
    )


def _append(log: MessageLog, count: int, at: datetime) -> None:
    records = [
        MessageRecord(new_id(), "DEV/A/B/c", "DEV/X/Y/z/s", at, at, "ok") for _ in range(count)
    ]
    log.append_batch(records)


def test_the_sealer_seals_by_age_and_count_and_stamps(tsa: TsaDouble) -> None:
    state, clock = _State(), ManualClock(START)
    log = _log(state, tsa, clock)
    sealer = CheckpointSealer(log, max_age=timedelta(seconds=60), max_entries=5)
    assert asyncio.run(sealer.run()) is None  # nothing to seal
    _append(log, 2, START)
    assert asyncio.run(sealer.run()) is None  # two entries, 0 s old
    clock.advance(timedelta(seconds=61))
    sealed = asyncio.run(sealer.run())
    assert sealed is not None
    assert (sealed.first, sealed.last) == (1, 2)
    _append(log, 5, clock.now())
    count_sealed = asyncio.run(sealer.run())
    assert count_sealed is not None
    assert (count_sealed.first, count_sealed.last) == (3, 7)
    assert set(state.stamps) == {2, 7}
    verdict = log.verify()
    assert verdict.intact, verdict.problems


def test_verify_detects_a_stamp_moved_to_another_checkpoint(tsa: TsaDouble) -> None:
    state, clock = _State(), ManualClock(START)
    log = _log(state, tsa, clock)
    sealer = CheckpointSealer(log, max_age=timedelta(0), max_entries=1)
    for _ in range(2):
        _append(log, 1, clock.now())
        asyncio.run(sealer.run())
    state.stamps[1], state.stamps[2] = state.stamps[2], state.stamps[1]
    problems = log.verify().problems
    assert len(problems) == 2
    assert all("time-stamp does not verify" in p for p in problems)


def test_an_unreachable_authority_leaves_the_checkpoint_for_later(tsa: TsaDouble) -> None:
    state, clock = _State(), ManualClock(START)
    log = _log(state, tsa, clock)
    sealer = CheckpointSealer(log, max_age=timedelta(0), max_entries=1)
    _append(log, 1, START)
    tsa.status = 2
    assert asyncio.run(sealer.run()) is not None
    assert state.stamps == {}
    tsa.status = 0
    assert asyncio.run(sealer.stamp_pending()) == 1
    assert log.unstamped() == []
    checkpoint = state.checkpoints[0]
    assert checkpoint_digest(checkpoint) == hashlib.sha256(checkpoint.jws.encode()).digest()


def test_a_token_with_an_altered_signature_is_refused(tsa: TsaDouble) -> None:
    token = bytearray(asyncio.run(stamper_of(tsa).stamp(DIGEST)))
    token[-1] ^= 0x01  # the signature ends the token
    with pytest.raises(InvalidTimeStamp):
        stamper_of(tsa).check(bytes(token), DIGEST)
