"""Access groups and endpoint rights, encrypted bodies and checkpoint time-stamps on SQLite and
PostgreSQL (through the platform, as bootstrap wires them)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.directory import ClientId, ServiceRef
from baobab.exchange import (
    InvalidEvidence,
    MessageLog,
    MessageRecord,
    ServiceRegistry,
    verify_bundle,
)
from baobab.exchange.adapters.body_cipher import AesGcmBodyCipher
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.adapters.tsa import Rfc3161TimeStamper, check_offline
from baobab.exchange.domain import BodyUnreadable, digest, request_content
from baobab.exchange.rights import AccessPolicy, DuplicateGroup, UnknownGroupMember
from baobab.exchange.workers import CheckpointSealer
from baobab.kernel.ids import new_id
from tests.unit.exchange.tsa_double import TsaDouble

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CLIENT = ClientId.parse("DEV/GOV/MOSA/benefits")
PROVIDER = ClientId.parse("DEV/GOV/CRVS/registry")
BIRTHS = ServiceRef(PROVIDER, "births")


def test_groups_and_endpoint_rights_are_stored(platform: Platform) -> None:
    db = platform.db
    ServiceRegistry(uow=lambda: SqlExchangeUnitOfWork(db), clock=platform.clock).register(
        actor="ops", provider=PROVIDER, code="births", version="1", base_url="http://crvs.test"
    )
    policy = AccessPolicy(
        uow=lambda: SqlExchangeUnitOfWork(db),
        directory=platform.directory,
        clock=platform.clock,
        ttl=0,
    )
    policy.create_group(actor="ops", code="social", description="social protection")
    with pytest.raises(DuplicateGroup):
        policy.create_group(actor="ops", code="social")
    with pytest.raises(UnknownGroupMember):  # not yet in the directory
        policy.set_member(actor="ops", code="social", client=CLIENT, member=True)
    platform.directory.add_member(actor="t", member_id=CLIENT.member, name="MoSA", roles=())
    platform.directory.add_subsystem(actor="t", client_id=CLIENT)
    policy.set_member(actor="ops", code="social", client=CLIENT, member=True)
    granted = policy.grant(
        actor="ops", subject="group:social", service=BIRTHS, method="GET", path="/births/*"
    )
    assert policy.allows(CLIENT, BIRTHS, "GET", "/births/B-1")
    assert not policy.allows(CLIENT, BIRTHS, "GET", "/deaths/D-1")
    (group,) = policy.groups()
    assert group.members == frozenset({str(CLIENT)})
    assert [r.right_id for r in policy.rights()] == [granted.right_id]
    policy.revoke(actor="ops", right_id=granted.right_id)
    assert not policy.allows(CLIENT, BIRTHS, "GET", "/births/B-1")
    with db.transaction() as connection:
        actions = connection.execute(
            text("SELECT action FROM audit_log WHERE action LIKE 'exchange.%' ORDER BY sequence")
        ).scalars()
        assert list(actions)[-4:] == [
            "exchange.group_created",
            "exchange.group_member_added",
            "exchange.right_granted",
            "exchange.right_revoked",
        ]


def _record(body: bytes) -> MessageRecord:
    message_id = new_id()
    request = request_content(
        message_id=message_id,
        client=str(CLIENT),
        service=f"{PROVIDER}/births",
        method="POST",
        target="/births",
        headers={},
        body_digest=digest(body),
    )
    return MessageRecord(
        message_id,
        str(CLIENT),
        f"{PROVIDER}/births",
        START,
        START,
        "ok",
        request=request,
        request_body=body,
    )


def test_bodies_are_stored_encrypted_in_the_same_transaction(platform: Platform) -> None:
    db = platform.db
    log = MessageLog(
        uow=lambda: SqlExchangeUnitOfWork(db),
        signer=platform.signer,
        clock=platform.clock,
        cipher=AesGcmBodyCipher({"k1": os.urandom(32)}, active="k1"),
    )
    record = _record(b'{"name":"Amina"}')
    log.append_batch([record])
    assert log.bodies(record.message_id) == {"request": b'{"name":"Amina"}'}
    with db.transaction() as connection:
        stored = connection.execute(text("SELECT key_id, ciphertext FROM exchange_bodies")).one()
        assert stored.key_id == "k1"
        assert b"Amina" not in bytes(stored.ciphertext)
        connection.execute(text("UPDATE exchange_bodies SET ciphertext = :c"), {"c": b"\x00" * 32})
    with pytest.raises(BodyUnreadable):
        log.bodies(record.message_id)


def test_checkpoints_are_time_stamped_and_verified(platform: Platform) -> None:
    db = platform.db
    tsa = TsaDouble(now=START)
    log = MessageLog(
        uow=lambda: SqlExchangeUnitOfWork(db),
        signer=platform.signer,
        clock=platform.clock,
        stamper=Rfc3161TimeStamper.from_pem(
            "http://tsa.test", tsa.pem(), transport=tsa.transport()
        ),
    )
    log.append_batch([_record(b"a"), _record(b"b")])
    sealer = CheckpointSealer(log, max_age=timedelta(0), max_entries=1000)
    assert asyncio.run(sealer.run()) is not None
    assert log.unstamped() == []
    assert log.verify().intact
    with SqlExchangeUnitOfWork(db) as uow:
        (first,) = uow.log.entries(1, 1)
    bundle = log.evidence(first.message_id, keys=platform.directory)
    assert "time_stamp" in json.loads(bundle)  # the checkpoint's token, read back from the store
    report = verify_bundle(bundle, trusted_kid=platform.signer.kid, stamp_check=check_offline)
    checks = dict(report.checks)  # (the records here carry made-up request signatures)
    assert checks["the inclusion proof leads to the checkpoint's Merkle root"] is True
    assert checks["the time-stamp token verifies and stamps the checkpoint"] is True
    assert report.time_stamped_at == START
    with db.transaction() as connection:
        connection.execute(text("UPDATE exchange_checkpoint_stamps SET token = 'AAAA'"))
    problems = log.verify().problems
    assert len(problems) == 1
    assert "time-stamp does not verify" in problems[0]
    with pytest.raises(InvalidEvidence):  # never exported with a token that fails
        log.evidence(first.message_id, keys=platform.directory)
