"""Evidence bundles carry the RFC 3161 time-stamp of their checkpoint: the offline verifier
checks the token's signature, its message imprint against the checkpoint and the authority's
certificate; a token altered, moved, from another authority or not checked fails the bundle."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from baobab.cli import app
from baobab.exchange import InvalidEvidence, MessageLog, MessageRecord, verify_bundle
from baobab.exchange.adapters.tsa import InvalidTimeStamp, Rfc3161TimeStamper, check_offline
from baobab.exchange.domain import EVIDENCE_JWS_TYPE, sign_detached
from baobab.exchange.workers import CheckpointSealer
from baobab.kernel.clock import ManualClock
from baobab.kernel.hashchain import canonical_json
from baobab.kernel.signing import Signer, b64url, b64url_decode
from tests.unit.exchange.fakes import FakeUnitOfWork, _State
from tests.unit.exchange.test_evidence import NoKeys
from tests.unit.exchange.tsa_double import TsaDouble

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def stamped_log(
    signer: Signer, tsa: TsaDouble, *, checkpoints: int = 1, state: _State | None = None
) -> MessageLog:
    state = state if state is not None else _State()
    stamper = Rfc3161TimeStamper.from_pem("http://tsa.test/", tsa.pem(), transport=tsa.transport())
    log = MessageLog(
        uow=lambda: FakeUnitOfWork(state), signer=signer, clock=ManualClock(START), stamper=stamper
    )
    sealer = CheckpointSealer(log, max_age=timedelta(0), max_entries=1)
    for n in range(checkpoints):
        log.append_batch([MessageRecord(f"m-{n}", "DEV/A/B/c", "DEV/X/Y/z/s", START, START, "ok")])
        assert asyncio.run(sealer.run()) is not None
    assert len(state.stamps) == checkpoints
    return log


def fingerprint(tsa: TsaDouble) -> str:
    return hashlib.sha256(tsa.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def resigned(signer: Signer, bundle: dict[str, Any]) -> bytes:
    """The bundle re-signed by the instance key, so that only the time-stamp checks can fail."""
    body = {k: v for k, v in bundle.items() if k != "signature"}
    body["signature"] = sign_detached(signer, body, typ=EVIDENCE_JWS_TYPE, iat=1)
    return canonical_json(body) + b"\n"


def test_a_stamped_checkpoint_puts_its_token_in_the_bundle_and_it_verifies() -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    data = stamped_log(signer, tsa).evidence("m-0", keys=NoKeys())
    bundle = json.loads(data)
    assert set(bundle["time_stamp"]) == {"token", "tsa_certificate"}
    report = verify_bundle(
        data, trusted_kid=signer.kid, trusted_tsa=fingerprint(tsa), stamp_check=check_offline
    )
    assert report.valid, report.checks
    assert report.time_stamped_at == START
    assert report.tsa_fingerprint == fingerprint(tsa)


def test_every_altered_byte_of_the_token_fails_even_when_the_bundle_is_re_signed() -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    bundle = json.loads(stamped_log(signer, tsa).evidence("m-0", keys=NoKeys()))
    token = b64url_decode(bundle["time_stamp"]["token"])
    for position in range(len(token)):
        changed = bytearray(token)
        changed[position] ^= 0x01
        bundle["time_stamp"]["token"] = b64url(bytes(changed))
        report = verify_bundle(resigned(signer, bundle), stamp_check=check_offline)
        assert not report.valid, position
        assert dict(report.checks).get("the bundle is signed by the instance key") is True


def test_a_token_of_another_checkpoint_fails() -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    log = stamped_log(signer, tsa, checkpoints=2)
    first, second = (json.loads(log.evidence(f"m-{n}", keys=NoKeys())) for n in (0, 1))
    first["time_stamp"] = second["time_stamp"]
    checks = dict(verify_bundle(resigned(signer, first), stamp_check=check_offline).checks)
    assert checks["the time-stamp token verifies and stamps the checkpoint"] is False


def test_a_token_of_another_authority_fails_against_the_trusted_certificate() -> None:
    signer, tsa, forger = Signer.generate(), TsaDouble(now=START), TsaDouble(now=START)
    bundle = json.loads(stamped_log(signer, forger).evidence("m-0", keys=NoKeys()))
    data = resigned(signer, bundle)
    assert verify_bundle(data, stamp_check=check_offline).valid  # consistent in itself...
    report = verify_bundle(data, trusted_tsa=fingerprint(tsa), stamp_check=check_offline)
    assert not report.valid  # ...but not the authority the verifier trusts
    # and a certificate swapped for the trusted one does not verify the forger's token
    bundle["time_stamp"]["tsa_certificate"] = b64url(
        tsa.certificate.public_bytes(serialization.Encoding.DER)
    )
    report = verify_bundle(
        resigned(signer, bundle), trusted_tsa=fingerprint(tsa), stamp_check=check_offline
    )
    assert not report.valid


def test_a_stamped_bundle_without_a_checker_or_a_pinned_tsa_without_a_stamp_fails() -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    data = stamped_log(signer, tsa).evidence("m-0", keys=NoKeys())
    assert not verify_bundle(data).valid
    bundle = json.loads(data)
    del bundle["time_stamp"]
    unstamped = resigned(signer, bundle)
    assert verify_bundle(unstamped, stamp_check=check_offline).valid
    assert not verify_bundle(unstamped, trusted_tsa=fingerprint(tsa)).valid


def test_the_offline_check_wants_a_time_stamping_certificate_valid_at_the_stamp() -> None:
    tsa = TsaDouble(now=START)
    digest = hashlib.sha256(b"checkpoint").digest()
    token = tsa.token(digest, None)
    certificate = tsa.certificate.public_bytes(serialization.Encoding.DER)
    assert check_offline(token, digest, certificate) == START
    with pytest.raises(InvalidTimeStamp, match="another digest"):
        check_offline(token, hashlib.sha256(b"other").digest(), certificate)
    without_usage = _reissued(tsa, usage=False)
    with pytest.raises(InvalidTimeStamp, match="time-stamping authority's"):
        check_offline(tsa.token(digest, None), digest, without_usage)
    late = TsaDouble(now=datetime(2040, 1, 1, tzinfo=UTC))  # after its certificate expired
    expired = late.certificate.public_bytes(serialization.Encoding.DER)
    with pytest.raises(InvalidTimeStamp, match="validity"):
        check_offline(late.token(digest, None), digest, expired)
    with pytest.raises(InvalidTimeStamp, match="not a DER"):
        check_offline(token, digest, b"not a certificate")


def _reissued(tsa: TsaDouble, *, usage: bool) -> bytes:
    """The TSA double's certificate re-issued (same key) with or without its key usage; the
    double's tokens then name it, so only the usage check tells them apart."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(tsa.certificate.subject)
        .issuer_name(tsa.certificate.issuer)
        .public_key(tsa.key.public_key())
        .serial_number(8)
        .not_valid_before(tsa.certificate.not_valid_before_utc)
        .not_valid_after(tsa.certificate.not_valid_after_utc)
    )
    if usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    tsa.certificate = builder.sign(tsa.key, hashes.SHA256())
    return tsa.certificate.public_bytes(serialization.Encoding.DER)


def test_a_kept_token_that_does_not_verify_refuses_the_export() -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    state = _State()
    log = stamped_log(signer, tsa, checkpoints=2, state=state)
    state.stamps[1], state.stamps[2] = state.stamps[2], state.stamps[1]
    with pytest.raises(InvalidEvidence, match="does not verify"):
        log.evidence("m-0", keys=NoKeys())
    log.stamper = None
    with pytest.raises(InvalidEvidence, match="no time-stamping authority"):
        log.evidence("m-1", keys=NoKeys())


def test_the_offline_command_checks_the_time_stamp(tmp_path: Path) -> None:
    signer, tsa = Signer.generate(), TsaDouble(now=START)
    data = stamped_log(signer, tsa).evidence("m-0", keys=NoKeys())
    out = tmp_path / "evidence.json"
    out.write_bytes(data)
    runner, pinned = CliRunner(), ["--trusted-kid", signer.kid, "--trusted-tsa", fingerprint(tsa)]
    checked = runner.invoke(app, ["exchange", "verify-evidence", str(out), *pinned])
    assert checked.exit_code == 0, checked.output
    assert "time-stamped at 2026-01-15T09:00:00+00:00" in checked.output
    other = ["--trusted-tsa", fingerprint(TsaDouble(now=START))]
    assert runner.invoke(app, ["exchange", "verify-evidence", str(out), *other]).exit_code == 1
    bundle = json.loads(data)
    token = bytearray(b64url_decode(bundle["time_stamp"]["token"]))
    token[-1] ^= 0x01
    bundle["time_stamp"]["token"] = b64url(bytes(token))
    out.write_bytes(resigned(signer, bundle))
    altered = runner.invoke(app, ["exchange", "verify-evidence", str(out), *pinned])
    assert altered.exit_code == 1
    assert "does not verify" in altered.output
