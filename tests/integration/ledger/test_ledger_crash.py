"""Kill a process posting under load (SIGKILL); every acknowledged transfer survives, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from baobab.infra.database import Database
from baobab.kernel.clock import SystemClock
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.adapters.sql import SqlLedgerStore
from baobab.ledger.adapters.tables import transfers
from tests.integration.ledger.crash_worker import ACCOUNTS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def run_and_kill(url: str, prefix: str, *, acks: int, seconds: float) -> dict[str, str]:
    """Start the worker, read acknowledgements until ``acks`` or ``seconds``, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ledger.crash_worker", url, prefix],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + seconds
    while len(lines) < acks and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    reader.join(10)
    stderr = process.stderr.read() if process.stderr else ""
    process.stdout.close()
    if process.stderr:
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, stderr
    acknowledged: dict[str, str] = {}
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill was never acknowledged
            transfer_id, result = line.split()
            acknowledged[transfer_id] = result
    assert len(acknowledged) >= 50, f"too few acknowledgements: {len(acknowledged)}\n{stderr}"
    print(f"{prefix}: {len(acknowledged)} acknowledged before SIGKILL")
    return acknowledged


def recompute_totals(db: Database) -> dict[str, list[int]]:
    """Every account's four totals, rebuilt from the immutable history alone."""
    totals = {a: [0, 0, 0, 0] for a in [*ACCOUNTS, "bank"]}
    with db.transaction() as connection:
        rows = connection.execute(
            select(
                transfers.c.id,
                transfers.c.debit_account_id,
                transfers.c.credit_account_id,
                transfers.c.amount,
                transfers.c.pending_id,
                transfers.c.flags,
            ).where(transfers.c.result == "ok")
        ).all()
    pending_amount = {r.id: r.amount for r in rows if r.flags & TransferFlags.PENDING}
    for r in rows:
        debit, credit = totals[r.debit_account_id], totals[r.credit_account_id]
        if r.flags & TransferFlags.PENDING:
            debit[0] += r.amount
            credit[2] += r.amount
            continue
        if r.pending_id is not None:  # a post, void or expiry releases the reservation
            debit[0] -= pending_amount[r.pending_id]
            credit[2] -= pending_amount[r.pending_id]
            if not r.flags & TransferFlags.POST_PENDING:
                continue
        debit[1] += r.amount
        credit[3] += r.amount
    return totals


def test_acknowledged_transfers_survive_a_kill_once(ledger_db: Database, ledger_url: str) -> None:
    ledger = LedgerService(SqlLedgerStore(ledger_db), SystemClock())
    ledger.create_accounts(
        [NewAccount("bank", "USD", AccountKind.SETTLEMENT, "bank")]
        + [NewAccount(a, "USD", AccountKind.POSITION, a, WALLET) for a in ACCOUNTS],
        actor="tests",
    )
    ledger.create_transfers(
        [NewTransfer(f"fund-{a}", "bank", a, 5_000, "USD") for a in ACCOUNTS], actor="tests"
    )
    acknowledged = run_and_kill(ledger_url, "run1", acks=1_500, seconds=6)
    # After the "restart": every acknowledged transfer is there with the answer given.
    stored = {t.id: t for t in ledger.lookup_transfers(sorted(acknowledged)[:8_190])}
    assert len(stored) == len(acknowledged)
    for transfer_id, result in acknowledged.items():
        assert stored[transfer_id].result.value == result
    # Nothing is half-applied: the totals are exactly what the history says.
    accounts = {a.id: a for a in ledger.lookup_accounts([*ACCOUNTS, "bank"])}
    for account_id, (dp, dpo, cp, cpo) in recompute_totals(ledger_db).items():
        a = accounts[account_id]
        assert (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted) == (
            dp,
            dpo,
            cp,
            cpo,
        )
        if a.flags & WALLET:
            assert a.debits_pending + a.debits_posted <= a.credits_posted
    # Clients retrying after the crash change nothing; the ledger keeps working.
    replay = [ledger.get_transfer(i) for i in sorted(acknowledged)[:200]]
    retried = ledger.create_transfers(
        [
            NewTransfer(t.id, t.debit_account_id, t.credit_account_id, t.amount, t.currency,
                        flags=t.flags, timeout=t.timeout)
            if not t.pending_id
            else NewTransfer(t.id, pending_id=t.pending_id, flags=t.flags)
            for t in replay
        ], actor="tests"
    )  # fmt: skip
    assert all(
        r is (TransferResult.EXISTS if t.succeeded else t.result)
        for r, t in zip(retried, replay, strict=True)
    )
    second = run_and_kill(ledger_url, "run2", acks=200, seconds=4)
    assert set(second).isdisjoint(acknowledged)
