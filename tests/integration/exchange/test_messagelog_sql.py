"""The message log on SQLite and PostgreSQL: verify detects a changed, removed or reordered
entry and a changed checkpoint; evidence bundles verify offline and fail with one byte changed;
concurrent writers keep one chain."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.exchange import MessageLog, MessageRecord, verify_bundle
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.kernel.hashchain import link_hash
from baobab.kernel.ids import new_id
from tests.integration.exchange.conftest import Exchange
from tests.integration.exchange.test_gateway_sql import call

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def make_log(platform: Platform, every: int = 1000) -> MessageLog:
    db = platform.db
    return MessageLog(
        uow=lambda: SqlExchangeUnitOfWork(db),
        signer=platform.signer,
        clock=platform.clock,
        checkpoint_every=every,
    )


def record(n: int = 0) -> MessageRecord:
    return MessageRecord(new_id(), "DEV/A/B/c", "DEV/X/Y/z/svc", START, START, "ok", duration_ms=n)


def filled(platform: Platform, count: int = 12, every: int = 5) -> MessageLog:
    log = make_log(platform, every)
    for _ in range(count // 3):
        log.append_batch([record(i) for i in range(3)])
    return log


def test_an_intact_log_verifies(platform: Platform) -> None:
    log = filled(platform)
    verdict = log.verify()
    assert verdict.intact, verdict.problems
    assert (verdict.entries, verdict.checkpoints) == (12, 2)


def _sql(platform: Platform, statement: str, **params: object) -> None:
    with platform.db.transaction() as connection:
        connection.execute(text(statement), params)


def test_a_changed_entry_is_detected(platform: Platform) -> None:
    log = filled(platform)
    with platform.db.transaction() as connection:
        payload = connection.execute(
            text("SELECT payload FROM exchange_log WHERE sequence = 4")
        ).scalar_one()
    changed = json.loads(payload)
    changed["client"] = "DEV/EVIL/X/y"
    _sql(platform, "UPDATE exchange_log SET payload = :p WHERE sequence = 4", p=json.dumps(changed))
    verdict = log.verify()
    assert not verdict.intact
    assert any("entry 4" in p for p in verdict.problems)


def test_a_removed_last_entry_is_detected(platform: Platform) -> None:
    log = filled(platform, every=100)
    _sql(platform, "DELETE FROM exchange_log WHERE sequence = 12")
    assert any("removed from the end" in p for p in log.verify().problems)


def test_a_recomputed_chain_still_breaks_the_signed_checkpoint(platform: Platform) -> None:
    """Re-hashing every later link after a change fools the chain, not the Merkle checkpoint."""
    log = filled(platform)
    with platform.db.transaction() as connection:
        rows = connection.execute(
            text("SELECT sequence, payload, previous_hash FROM exchange_log ORDER BY sequence")
        ).all()
    previous = rows[0].previous_hash
    for row in rows:
        payload = json.loads(row.payload)
        if row.sequence == 2:
            payload["outcome"] = "refused"
        digest = link_hash(previous, payload)
        _sql(
            platform,
            "UPDATE exchange_log SET payload = :p, previous_hash = :ph, hash = :h "
            "WHERE sequence = :s",
            p=json.dumps(payload),
            ph=previous,
            h=digest,
            s=row.sequence,
        )
        previous = digest
    _sql(platform, "UPDATE exchange_log_head SET hash = :h", h=previous)
    problems = log.verify().problems
    assert any("checkpoint 1..6" in p and "Merkle root" in p for p in problems), problems


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE exchange_checkpoints SET root = 'ab' || substr(root, 3) WHERE first = 1",
        "UPDATE exchange_checkpoints SET jws = jws || 'A' WHERE first = 1",
        "UPDATE exchange_checkpoints SET first = 2 WHERE first = 1",
    ],
)
def test_a_changed_checkpoint_is_detected(platform: Platform, tamper: str) -> None:
    log = filled(platform)
    _sql(platform, tamper)
    assert not log.verify().intact


def test_an_evidence_bundle_verifies_and_any_changed_byte_fails(exchange: Exchange) -> None:
    ministry, provider = str(exchange.ministry.client_id), str(exchange.provider.client_id)
    answer = call(exchange.gateway, ministry, provider)
    bundle = exchange.log.evidence(answer.message_id, keys=exchange.platform.directory)
    report = verify_bundle(bundle, trusted_kid=exchange.platform.signer.kid)
    assert report.valid, report.checks
    names = [name for name, _ in report.checks]
    assert "the response is signed by the provider's key" in names
    assert "the inclusion proof leads to the checkpoint's Merkle root" in names
    assert not verify_bundle(bundle, trusted_kid="someone-else").valid
    for position in range(0, len(bundle), 37):  # every byte: tests/unit/exchange/test_evidence
        changed = bytearray(bundle)
        changed[position] ^= 0x01
        assert not verify_bundle(bytes(changed)).valid, position


def test_evidence_of_a_refused_message_verifies(exchange: Exchange) -> None:
    answer = call(exchange.gateway, str(exchange.ministry.client_id), "DEV/GOV/CRVS/other")
    assert answer.error is not None
    bundle = exchange.log.evidence(answer.message_id, keys=exchange.platform.directory)
    report = verify_bundle(bundle)
    assert report.valid
    assert report.message_id == answer.message_id


def test_concurrent_writers_keep_one_chain(platform: Platform) -> None:
    logs = [make_log(platform, every=50) for _ in range(4)]

    def write(log: MessageLog) -> None:
        for _ in range(10):
            log.append_batch([record(), record()])

    threads = [threading.Thread(target=write, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = logs[0].verify()
    assert verdict.intact, verdict.problems
    assert verdict.entries == 80


def test_sealing_beside_concurrent_writers_keeps_checkpoints_contiguous(platform: Platform) -> None:
    logs = [make_log(platform, every=7) for _ in range(3)]
    sealer = make_log(platform)
    done = threading.Event()

    def write(log: MessageLog) -> None:
        for _ in range(10):
            log.append_batch([record(), record()])

    def seal() -> None:
        while not done.is_set():
            sealer.checkpoint()
            sealer.checkpoint_if_due(max_age=timedelta(0), max_entries=1)

    writers = [threading.Thread(target=write, args=(log,)) for log in logs]
    sealing = threading.Thread(target=seal)
    sealing.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    sealing.join()
    sealer.checkpoint()
    verdict = sealer.verify()
    assert verdict.intact, verdict.problems
    assert verdict.entries == 60
