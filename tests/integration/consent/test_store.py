"""The consent block on a real database, SQLite and PostgreSQL: revisions round-trip exactly,
the check reads the committed current state, and a revision changed behind Baobab's back is
detected."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text, update

from baobab.bootstrap import Platform
from baobab.consent import Channel, ConsentService
from baobab.consent.adapters.sql import SqlConsentReader, record_revisions, records
from baobab.infra.audit import verify_audit
from baobab.kernel.clock import ManualClock
from tests.unit.consent.examples import ALICE, BANK, BOB, terms

WEB = Channel.WEB


def test_records_round_trip_and_the_check_follows_each_change(
    consent: ConsentService, platform: Platform, clock: ManualClock
) -> None:
    agreement = consent.agreements.create(
        actor="admin", organisation=BANK, terms=terms(validity_days=10)
    )
    aid = agreement.agreement_id
    assert consent.agreements.get(BANK, aid) == agreement

    def allowed() -> bool:
        return consent.check(
            individual=ALICE, agreement_id=aid, purpose="ekyc", recipient=BANK
        ).allowed

    assert not allowed()
    given = consent.give(
        actor="portal", organisation=BANK, agreement_id=aid, individual=ALICE, channel=WEB
    )
    assert allowed()
    clock.advance(timedelta(seconds=1))
    withdrawn = consent.withdraw(
        actor="portal", organisation=BANK, agreement_id=aid, individual=ALICE, channel=WEB
    )
    assert not allowed()
    clock.advance(timedelta(seconds=1))
    again = consent.give(
        actor="portal", organisation=BANK, agreement_id=aid, individual=ALICE, channel=WEB
    )
    assert allowed()
    assert consent.history(BANK, given.record_id) == [given, withdrawn, again]
    assert consent.get_record(BANK, given.record_id) == again
    assert consent.records_of(BANK, ALICE) == [again]
    assert consent.verify_record(given.record_id) is None
    assert consent.agreements.verify(BANK, aid) is None
    clock.advance(timedelta(days=10))
    assert not allowed()  # lapsed: the reader returns expires_at as aware UTC on both engines
    _, broken = verify_audit(platform.db)
    assert broken is None


def test_the_reader_answers_from_one_lookup(consent: ConsentService, platform: Platform) -> None:
    aid = consent.agreements.create(actor="admin", organisation=BANK, terms=terms()).agreement_id
    record = consent.give(
        actor="portal", organisation=BANK, agreement_id=aid, individual=ALICE, channel=WEB
    )
    reader = SqlConsentReader(platform.db)
    try:
        assert reader.check_state("no-such-agreement", ALICE) is None
        nobody = reader.check_state(aid, BOB)
        assert nobody is not None
        assert (nobody.organisation, nobody.current_revision, nobody.record) == (BANK, 1, None)
        state = reader.check_state(aid, ALICE)
        assert state is not None
        assert state.record is not None
        assert (state.record.record_id, state.record.sequence, state.record.opt_in) == (
            record.record_id,
            1,
            True,
        )
        assert reader.check_states("no-such-agreement", [ALICE]) is None
        batch = reader.check_states(aid, [ALICE, BOB, ALICE])
        assert batch is not None
        assert (batch.organisation, batch.current_revision) == (BANK, 1)
        assert batch.records == {ALICE: state.record}
        nobody_batch = reader.check_states(aid, [BOB])
        assert nobody_batch is not None
        assert nobody_batch.records == {}
        if platform.db.dialect == "postgresql":  # the check holds no transaction open
            with platform.db.transaction() as connection:
                idle_in_transaction = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state = 'idle in transaction'"
                    )
                ).scalar()
            assert idle_in_transaction == 0
    finally:
        reader.close()


def test_tampering_in_the_database_is_detected(consent: ConsentService, platform: Platform) -> None:
    aid = consent.agreements.create(actor="admin", organisation=BANK, terms=terms()).agreement_id
    for opt_in in (True, False):
        consent.choose(
            actor="portal",
            organisation=BANK,
            agreement_id=aid,
            individual=ALICE,
            opt_in=opt_in,
            channel=WEB,
        )
    record = consent.record_for(BANK, ALICE, aid)
    # someone turns the withdrawal back into consent, in the current state the check reads
    with platform.db.transaction() as connection:
        connection.execute(
            update(records).where(records.c.record_id == record.record_id).values(opt_in=True)
        )
    broken = consent.verify_record(record.record_id)
    assert broken is not None
    assert broken.reason == "the current state is not the newest revision"
    # ... and, to hide it, in the revision too
    with platform.db.transaction() as connection:
        connection.execute(
            update(record_revisions)
            .where(record_revisions.c.record_id == record.record_id)
            .where(record_revisions.c.sequence == 2)
            .values(opt_in=True)
        )
    broken = consent.verify_record(record.record_id)
    assert broken is not None
    assert (broken.sequence, broken.reason) == (2, "content does not match its hash")
    count, failures = consent.verify_all()
    assert (count, [f.record_id for f in failures]) == (1, [record.record_id])
