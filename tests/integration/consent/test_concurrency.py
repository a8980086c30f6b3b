"""Races only a real database can lose: on PostgreSQL, many writers choosing at once for the same
individual and agreement leave one record whose chain has no fork and no gap, and a withdrawal
that commits is seen by the very next check."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from baobab.bootstrap import Platform
from baobab.consent import Channel, ConsentService
from baobab.infra.audit import verify_audit
from tests.unit.consent.examples import ALICE, BANK, terms

pytestmark = pytest.mark.postgres


def race(threads: int, action: Callable[[int], object]) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    losses: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            action(n)
        except BaseException as exc:  # every outcome is counted below
            losses.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return losses


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_first_consents_make_one_record(
    consent: ConsentService, platform: Platform
) -> None:
    aid = consent.agreements.create(actor="admin", organisation=BANK, terms=terms()).agreement_id
    losses = race(
        8,
        lambda n: consent.give(
            actor=f"portal-{n}",
            organisation=BANK,
            agreement_id=aid,
            individual=ALICE,
            channel=Channel.WEB,
        ),
    )
    assert losses == []
    records = consent.list_records(BANK)
    assert len(records) == 1
    assert records[0].sequence == 1  # the others found it given already and appended nothing
    assert consent.verify_record(records[0].record_id) is None
    _, broken = verify_audit(platform.db)
    assert broken is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_changes_chain_without_forks(
    consent: ConsentService, platform: Platform
) -> None:
    aid = consent.agreements.create(actor="admin", organisation=BANK, terms=terms()).agreement_id
    rounds = 5

    def flip(n: int) -> None:
        for i in range(rounds):
            consent.choose(
                actor=f"portal-{n}",
                organisation=BANK,
                agreement_id=aid,
                individual=ALICE,
                opt_in=(n + i) % 2 == 0,
                channel=Channel.WEB,
            )

    first = consent.give(
        actor="p", organisation=BANK, agreement_id=aid, individual=ALICE, channel=Channel.WEB
    )
    done = threading.Event()
    verdicts: list[object] = []

    def verify_meanwhile() -> None:  # verification never mistakes an append for tampering
        while not done.is_set():
            verdicts.append(consent.verify_record(first.record_id))

    verifier = threading.Thread(target=verify_meanwhile)
    verifier.start()
    try:
        assert race(6, flip) == []
    finally:
        done.set()
        verifier.join()
    assert verdicts
    assert all(v is None for v in verdicts)
    record = consent.record_for(BANK, ALICE, aid)
    history = consent.history(BANK, record.record_id)
    assert [r.sequence for r in history] == list(range(1, len(history) + 1))
    assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(history))
    assert all(a.opt_in != b.opt_in for a, b in itertools.pairwise(history))
    assert history[-1] == record
    assert consent.verify_record(record.record_id) is None
    decision = consent.check(individual=ALICE, agreement_id=aid, purpose="ekyc", recipient=BANK)
    assert decision.allowed is record.opt_in
    assert decision.record_sequence == record.sequence


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_committed_withdrawal_is_seen_by_every_next_check(consent: ConsentService) -> None:
    aid = consent.agreements.create(actor="admin", organisation=BANK, terms=terms()).agreement_id
    consent.give(
        actor="p", organisation=BANK, agreement_id=aid, individual=ALICE, channel=Channel.WEB
    )
    stop = threading.Event()
    seen_after: list[bool] = []
    withdrawn = threading.Event()

    def checker() -> None:
        while not stop.is_set():
            was_withdrawn = withdrawn.is_set()  # read before the check: a happens-before edge
            allowed = consent.check(
                individual=ALICE, agreement_id=aid, purpose="ekyc", recipient=BANK
            ).allowed
            if was_withdrawn:
                seen_after.append(allowed)

    threads = [threading.Thread(target=checker) for _ in range(3)]
    for t in threads:
        t.start()
    consent.withdraw(
        actor="p", organisation=BANK, agreement_id=aid, individual=ALICE, channel=Channel.WEB
    )
    withdrawn.set()
    deadline = time.monotonic() + 10
    while len(seen_after) < 50 and time.monotonic() < deadline:
        time.sleep(0.005)
    stop.set()
    for t in threads:
        t.join()
    assert len(seen_after) >= 50
    assert not any(seen_after)
