"""A process that posts transfers under load and prints every acknowledged outcome.

Run by the crash test as ``python -m tests.integration.ledger.crash_worker URL PREFIX`` and killed
with SIGKILL mid-flight. Each line ``<id> <result>`` is printed only after the ledger answered,
i.e. after the batch holding the transfer committed.
"""

from __future__ import annotations

import random
import sys
import threading

from baobab.infra.database import Database
from baobab.kernel.clock import SystemClock
from baobab.ledger import LedgerService, NewTransfer, TransferFlags
from baobab.ledger.adapters.sql import SqlLedgerStore
from baobab.ledger.batcher import TransferBatcher

ACCOUNTS = [f"w{i}" for i in range(6)]
THREADS = 16

_print_lock = threading.Lock()


def acknowledge(transfer_id: str, result: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{transfer_id} {result}\n")
        sys.stdout.flush()


def post_forever(batcher: TransferBatcher, prefix: str, worker: int) -> None:
    rng = random.Random(f"{prefix}-{worker}")
    n = 0
    while True:
        n += 1
        debit, credit = rng.sample(ACCOUNTS, 2)
        transfer_id = f"{prefix}-{worker}-{n}"
        two_phase = rng.random() < 0.3
        flags = TransferFlags.PENDING if two_phase else TransferFlags.NONE
        event = NewTransfer(transfer_id, debit, credit, rng.randint(1, 90), "USD", flags=flags)
        outcome = batcher.create_transfer(event, actor="crash-worker")
        acknowledge(transfer_id, outcome.result.value)
        if two_phase and outcome.result.succeeded:
            post = NewTransfer(
                f"{transfer_id}-post", pending_id=transfer_id, flags=TransferFlags.POST_PENDING
            )
            acknowledge(post.id, batcher.create_transfer(post, actor="crash-worker").result.value)


def main() -> None:
    url, prefix = sys.argv[1], sys.argv[2]
    db = Database(url, pool_size=4)
    batcher = TransferBatcher(LedgerService(SqlLedgerStore(db), SystemClock()), expire_every=0)
    workers = [
        threading.Thread(target=post_forever, args=(batcher, prefix, i), daemon=True)
        for i in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
