"""Purging a packet's personal data over SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from baobab.identity import PacketState
from baobab.identity.adapters.sql import SqlIdentityUnitOfWork
from baobab.identity.adapters.tables import packets
from baobab.identity.packets import BiometricRef
from baobab.identity.retention import RetentionService
from baobab.infra.audit import audit_log, verify_audit
from baobab.kernel.clock import ManualClock
from tests.integration.identity.people import Enroller, packet, person


def test_a_duplicate_packet_loses_its_sealed_data_and_keeps_its_facts(enroller: Enroller) -> None:
    stack = enroller.stack
    db = stack.platform.db
    uin = enroller.enrol("pkt-00000001", person())
    duplicate = enroller.submit(packet("pkt-00000002", person()))
    assert duplicate.state is PacketState.DUPLICATE
    later = ManualClock(stack.platform.clock.now() + timedelta(days=400))
    retention = RetentionService(
        uow=lambda: SqlIdentityUnitOfWork(db, stack.cipher), clock=later, period=timedelta(days=365)
    )
    assert retention.purge(actor="ops", batch=1).purged == ["pkt-00000002"]
    with db.transaction() as connection:
        rows = {r.packet_id: r for r in connection.execute(select(packets))}
        purges = connection.execute(
            select(audit_log).where(audit_log.c.action == "identity.packet_purged")
        ).all()
    assert rows["pkt-00000002"].demographics in (b"", bytearray())
    assert rows["pkt-00000002"].purged_at is not None
    assert (rows["pkt-00000002"].state, rows["pkt-00000002"].duplicate_of) == ("duplicate", uin)
    assert rows["pkt-00000001"].demographics  # issued: kept
    assert [p.subject for p in purges] == ["pkt-00000002"]
    assert verify_audit(db)[1] is None
    with SqlIdentityUnitOfWork(db, stack.cipher) as uow:
        assert uow.store.packet_demographics("pkt-00000002") is None
        assert uow.store.packet_demographics("pkt-00000001") == person()
    assert stack.enrolment.enrolment("pkt-00000002").duplicate_of == uin
    # the same packet again still gets its first answer: the digest is kept
    assert enroller.submit(packet("pkt-00000002", person())).duplicate_of == uin
    assert retention.purge(actor="ops").purged == []


def test_biometric_references_are_kept_with_the_packet_until_purged(enroller: Enroller) -> None:
    stack = enroller.stack
    db = stack.platform.db
    enroller.enrol("pkt-00000001", person())
    body = {
        **packet("pkt-00000002", person()),
        "biometrics": [{"modality": "iris", "reference": "t9"}],
    }
    del body["biometric_exception"]
    assert enroller.submit(body).state is PacketState.DUPLICATE
    with SqlIdentityUnitOfWork(db, stack.cipher) as uow:
        assert uow.store.packet_biometrics("pkt-00000002") == (BiometricRef("iris", "t9"),)
        assert uow.store.packet_biometrics("pkt-00000001") == ()
    later = ManualClock(stack.platform.clock.now() + timedelta(days=400))
    retention = RetentionService(
        uow=lambda: SqlIdentityUnitOfWork(db, stack.cipher), clock=later, period=timedelta(days=365)
    )
    assert retention.purge(actor="ops").purged == ["pkt-00000002"]
    with SqlIdentityUnitOfWork(db, stack.cipher) as uow:
        assert uow.store.packet_biometrics("pkt-00000002") == ()
