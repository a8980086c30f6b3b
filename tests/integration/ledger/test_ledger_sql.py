"""The SQL store through the ledger's service, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from baobab.infra.audit import read_audit, verify_audit
from baobab.infra.database import Database
from baobab.kernel.clock import ManualClock
from baobab.kernel.money import INT64_MAX
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    AccountResult,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.adapters.sql import SqlLedgerStore
from baobab.ledger.adapters.tables import transfers
from tests.support import START
from tests.unit.ledger.simulation import run_simulation

R = TransferResult
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


@pytest.fixture
def ledger(sql_store: SqlLedgerStore) -> LedgerService:
    service = LedgerService(sql_store, ManualClock(START))
    assert (
        service.create_accounts(
            [
                NewAccount("bank", "USD", AccountKind.SETTLEMENT, "central-bank"),
                NewAccount("alice", "USD", AccountKind.POSITION, "fsp-a", WALLET),
                NewAccount("bob", "USD", AccountKind.POSITION, "fsp-b", WALLET),
            ],
            actor="tests",
        )
        == [AccountResult.OK] * 3
    )
    return service


def test_accounts_and_transfers_round_trip(ledger: LedgerService) -> None:
    assert ledger.create_accounts(
        [NewAccount("bob", "USD", AccountKind.POSITION, "fsp-b", WALLET)], actor="tests"
    ) == [AccountResult.EXISTS]
    results = ledger.create_transfers(
        [
            NewTransfer("t1", "bank", "alice", INT64_MAX, "USD", reference="opening"),
            NewTransfer("t2", "alice", "bob", 500, "USD", flags=TransferFlags.PENDING, timeout=60),
            NewTransfer("t3", pending_id="t2", amount=200, flags=TransferFlags.POST_PENDING),
            NewTransfer("t4", "bob", "bank", 201, "USD"),
            NewTransfer("t1", "bank", "alice", INT64_MAX, "USD", reference="opening"),
        ],
        actor="tests",
    )
    assert results == [R.OK, R.OK, R.OK, R.EXCEEDS_CREDITS, R.EXISTS]
    alice = ledger.get_account("alice")
    assert (alice.debits_pending, alice.debits_posted, alice.credits_posted) == (0, 200, INT64_MAX)
    assert alice.created_at == START
    t1, t3, t4 = ledger.lookup_transfers(["t1", "t3", "t4"])
    assert (t1.amount, t1.reference, t1.timestamp) == (INT64_MAX, "opening", START)
    assert (t3.debit_account_id, t3.amount, t3.pending_id, t3.currency) == (
        "alice",
        200,
        "t2",
        "USD",
    )
    assert t4.result is R.EXCEEDS_CREDITS
    assert [t.id for t in ledger.history("alice").transfers] == ["t1", "t2", "t3"]
    # The recorded refusal answers the retry; a post of a settled pending transfer is refused.
    assert ledger.create_transfers(
        [
            NewTransfer("t4", "bob", "bank", 201, "USD"),
            NewTransfer("t5", pending_id="t2", flags=TransferFlags.VOID_PENDING),
        ],
        actor="tests",
    ) == [R.EXCEEDS_CREDITS, R.PENDING_TRANSFER_ALREADY_POSTED]


def test_expiry_releases_the_reservation(sql_store: SqlLedgerStore) -> None:
    clock = ManualClock(START)
    ledger = LedgerService(sql_store, clock)
    ledger.create_accounts(
        [
            NewAccount("a", "USD", AccountKind.POSITION, "o"),
            NewAccount("b", "USD", AccountKind.POSITION, "o"),
        ],
        actor="tests",
    )
    pending = [
        NewTransfer(f"p{i}", "a", "b", 10, "USD", flags=TransferFlags.PENDING, timeout=5 + i)
        for i in range(3)
    ]
    assert ledger.create_transfers(pending, actor="tests") == [R.OK] * 3
    assert ledger.create_transfers(
        [NewTransfer("v", pending_id="p0", flags=TransferFlags.VOID_PENDING)], actor="tests"
    ) == [R.OK]
    clock.advance(timedelta(seconds=6))
    assert ledger.expire_due(actor="tests") == 1
    assert ledger.get_account("a").debits_pending == 10
    clock.advance(timedelta(seconds=60))
    assert ledger.expire_due(actor="tests") == 1
    assert ledger.expire_due(actor="tests") == 0
    assert ledger.get_account("a").debits_pending == 0
    expired = ledger.get_transfer("p2~expired")
    assert (expired.pending_id, expired.amount, expired.flags) == (
        "p2",
        10,
        TransferFlags.EXPIRE_PENDING,
    )


def test_history_is_paged_in_order(ledger: LedgerService) -> None:
    ledger.create_transfers(
        [NewTransfer(f"h{i:02}", "bank", "bob", 1, "USD") for i in range(25)], actor="tests"
    )
    seen: list[str] = []
    after = 0
    while True:
        page = ledger.history("bob", after=after, limit=10)
        seen.extend(t.id for t in page.transfers)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [f"h{i:02}" for i in range(25)]


def test_a_full_batch_commits_in_one_transaction(
    ledger: LedgerService, ledger_db: Database
) -> None:
    events = [NewTransfer(f"b{i}", "bank", "bob", 1, "USD") for i in range(8_190)]
    assert ledger.create_transfers(events, actor="tests") == [R.OK] * 8_190
    assert ledger.get_account("bob").credits_posted == 8_190
    # Retried whole: every event exists, nothing is applied twice.
    assert ledger.create_transfers(events, actor="tests") == [R.EXISTS] * 8_190
    assert ledger.get_account("bob").credits_posted == 8_190
    with ledger_db.transaction() as connection:
        count = connection.execute(select(text("count(*)")).select_from(transfers)).scalar()
    assert count == 8_190


def test_history_cannot_be_settled_twice_even_past_the_application(
    ledger_db: Database, ledger: LedgerService
) -> None:
    ledger.create_transfers(
        [
            NewTransfer("fund", "bank", "alice", 100, "USD"),
            NewTransfer("p", "alice", "bob", 50, "USD", flags=TransferFlags.PENDING),
            NewTransfer("post", pending_id="p", flags=TransferFlags.POST_PENDING),
        ],
        actor="tests",
    )
    row = {
        "id": "post-again",
        "debit_account_id": "alice",
        "credit_account_id": "bob",
        "amount": 50,
        "currency": "USD",
        "pending_id": "p",
        "timeout": 0,
        "reference": "",
        "flags": 4,
        "result": "ok",
        "timestamp": START,
        "expires_at": None,
    }
    with pytest.raises(Exception, match=r"(?i)unique"), ledger_db.transaction() as connection:
        connection.execute(transfers.insert(), [row])


def test_the_simulation_agrees_with_the_model(ledger_url: str) -> None:
    opened: list[Database] = []

    def open_store() -> SqlLedgerStore:
        opened.append(Database(ledger_url))  # a restart: a new engine, same database
        return SqlLedgerStore(opened[-1])

    try:
        report = run_simulation(11, batches=120, open_store=open_store, compare_every=10)
    finally:
        for db in opened:
            db.dispose()
    assert report.crashes > 0
    assert report.applied > 200


def test_batches_land_in_the_hash_chained_audit_log(
    ledger: LedgerService, ledger_db: Database
) -> None:
    ledger.create_transfers(
        [NewTransfer(f"a{i}", "bank", "bob", 1, "USD") for i in range(3)], actor="DEV/GOV/OPS/x"
    )
    count, broken = verify_audit(ledger_db)
    assert broken is None
    entries = read_audit(ledger_db, limit=100)
    assert len(entries) == count
    assert [(e.action, e.actor, e.subject) for e in entries[-1:]] == [
        ("ledger.transfers_applied", "DEV/GOV/OPS/x", "a0")
    ]
    assert [e.subject for e in entries if e.action == "ledger.accounts_opened"] == ["bank"]


def test_the_trial_balance_catches_tampering(ledger: LedgerService, ledger_db: Database) -> None:
    ledger.create_transfers(
        [
            NewTransfer("f", "bank", "alice", 100, "USD"),
            NewTransfer("p", "alice", "bob", 40, "USD", flags=TransferFlags.PENDING),
        ],
        actor="tests",
    )
    (books,) = ledger.trial_balance()
    assert books.balanced
    assert (books.currency, books.accounts, books.debits_posted, books.debits_pending) == (
        "USD",
        3,
        100,
        40,
    )
    with ledger_db.transaction() as connection:
        connection.execute(text("UPDATE ledger_accounts SET debits_posted = 90 WHERE id = 'alice'"))
    (books,) = ledger.trial_balance()
    assert not books.balanced
    assert books.over_limit == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfers SET amount = 1 WHERE id = 'fund'",
        "DELETE FROM ledger_transfers WHERE id = 'fund'",
    ],
)
def test_the_database_refuses_to_rewrite_history(
    ledger: LedgerService, ledger_db: Database, statement: str
) -> None:
    ledger.create_transfers([NewTransfer("fund", "bank", "alice", 100, "USD")], actor="tests")
    refused = pytest.raises(Exception, match="ledger history is immutable")
    with refused, ledger_db.transaction() as connection:
        connection.execute(text(statement))
    assert ledger.get_transfer("fund").amount == 100
