"""Benchmark: the ledger's core, transfers per second through ``LedgerService`` and the batcher.

Run from the repository root: ``.venv/bin/python -m bench.ledger_core [--quick]``.

Every case goes through the full path - validation, the engine, the SQL store and a durable
commit (PostgreSQL ``synchronous_commit=on``, SQLite ``synchronous=FULL`` in WAL mode) - on a
fresh database (SQLite in a temporary directory; PostgreSQL ``baobab_bench_<random>``, dropped at
the end). Cases vary:

- ``batch``: events per ``create_transfers`` call (1, 100, 8190);
- ``mode``: ``single_phase`` transfers, or ``two_phase`` (a batch of pending transfers, then a
  batch posting them; both batches count, so the figure is events per second);
- ``accounts``: ``hot`` - every transfer between 10 accounts whose debits may not exceed their
  credits (all contention, few rows) - or ``100000`` accounts chosen at random (few conflicts,
  thousands of rows locked and updated per batch).

The ``batcher`` cases run concurrent single requests through one ``TransferBatcher``, with two
loads: ``load=asyncio`` - 8,192 tasks on one event loop awaiting ``batcher.transfer`` (what async
HTTP handlers do) - and ``load=threads`` - 256 threads each blocked in ``create_transfer``. Each
prints latency percentiles, CPU time per request (``cpu_us_per_request``, all threads of the
process, ``time.process_time``), the mean batch size, and the ratio to direct 8,190 batches of
the same accounts measured in the same process right before and right after it
(``ratio_vs_direct`` over their mean, with the direct ``cpu_us_per_event``).

Requests are built before the clock starts and then frozen out of the garbage collector's way
(``gc.freeze``), in the direct and the batcher cases alike: a server holds no such pile of
prepared requests, and without the freeze every full collection would walk them all.

For the 8,190 PostgreSQL cases a baseline runs in the same minute: the same number of transfer
rows stored by a bare binary ``COPY`` into a copy of the transfers table (same indexes, durable
commit per batch, no accounts, no checks) - ``ratio_vs_copy`` is the ledger's rate over that
floor, a figure that survives a noisy machine better than either rate.

The load generator, the ledger and the database all run on the same machine. Each figure is the
median of ``runs`` timed runs after a warm-up. Every run is checked: every event ``ok``, every
transfer stored exactly once, replayed events all found as duplicates (``exists``) with nothing
applied twice, and debits equal credits (posted and pending) over all accounts. A wrong result
exits non-zero and its figures must not be used.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from baobab.infra import migrate
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
from baobab.ledger.adapters.tables import accounts, transfers
from baobab.ledger.batcher import TransferBatcher
from bench.databases import postgres_database

BENCH = "ledger_core"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
HOT = 10
SPREAD = 100_000
FUNDS = 10**15  # what each limited account starts with, so no benchmark transfer is refused


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Case:
    db: str
    batch: int
    mode: str
    accounts: str  # "hot" or "100000"

    @property
    def name(self) -> str:
        return f"batch={self.batch},db={self.db},mode={self.mode},accounts={self.accounts}"


@dataclass(frozen=True, slots=True)
class Plan:
    runs: int
    events: dict[int, int]  # events per timed run, by batch size
    cases: list[Case]
    batcher: tuple[tuple[str, int, int], ...]  # (load, clients, events) per batcher case


def _cases(quick: bool) -> list[Case]:
    if quick:
        return [
            Case("postgresql", 8190, "single_phase", "hot"),
            Case("postgresql", 8190, "single_phase", "100000"),
            Case("postgresql", 8190, "two_phase", "hot"),
            Case("postgresql", 100, "single_phase", "100000"),
            Case("postgresql", 1, "single_phase", "hot"),
            Case("sqlite", 8190, "single_phase", "hot"),
            Case("sqlite", 100, "single_phase", "100000"),
            Case("sqlite", 1, "single_phase", "hot"),
        ]
    return [
        Case(db, batch, mode, spread)
        for db in ("postgresql", "sqlite")
        for batch in (8190, 100, 1)
        for mode in ("single_phase", "two_phase")
        for spread in ("hot", "100000")
    ]


QUICK = Plan(
    3,
    {8190: 8190, 100: 2_000, 1: 150},
    _cases(True),
    (("asyncio", 8192, 4 * 8192), ("threads", 256, 12_000)),
)
FULL = Plan(
    5,
    {8190: 3 * 8190, 100: 10_000, 1: 1_000},
    _cases(False),
    (("asyncio", 8192, 12 * 8192), ("threads", 256, 60_000)),
)


def emit(case: str, metric: str, value: float, runs: int, **extra: float | str) -> None:
    line: dict[str, object] = {
        "bench": BENCH,
        "case": case,
        "metric": metric,
        "value": round(value, 1) if metric.endswith("_per_s") else round(value, 3),
        "unit": "1/s" if metric.endswith("_per_s") else "ratio",
        "runs": runs,
    }
    line.update(extra)
    print(json.dumps(line), flush=True)


# --- set-up ----------------------------------------------------------------------------------


class Ledger:
    """One database with the bench's accounts, and the ids handed out so far."""

    def __init__(self, url: str) -> None:
        self.db = Database(url, pool_size=8)
        # Infra (the audit trail) and the ledger only: no other block is measured here.
        migrate.upgrade(self.db, ("ledger",))
        self.service = LedgerService(SqlLedgerStore(self.db), SystemClock())
        self.hot = [f"hot-{i:02}" for i in range(HOT)]
        self.spread = [f"acct-{i:06}" for i in range(SPREAD)]
        self.serial = 0
        self.moved = 0  # what the benchmark's transfers post, in total
        self.stored = 0  # benchmark transfers that must be stored (a pending and its post: 2)
        limited = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        opened = [NewAccount("bank", "USD", AccountKind.SETTLEMENT, "bench")]
        opened += [NewAccount(a, "USD", AccountKind.POSITION, "bench", limited) for a in self.hot]
        opened += [NewAccount(a, "USD", AccountKind.SUSPENSE, "bench") for a in self.spread]
        for start in range(0, len(opened), 8190):
            results = self.service.create_accounts(opened[start : start + 8190], actor="bench")
            check(all(r.succeeded for r in results), "accounts were not opened")
        funding = [NewTransfer(f"fund-{a}", "bank", a, FUNDS, "USD") for a in self.hot]
        check(
            self.service.create_transfers(funding, actor="bench") == [TransferResult.OK] * HOT,
            "funding",
        )

    def events(
        self, count: int, spread: str, rng: random.Random, flags: TransferFlags
    ) -> list[NewTransfer]:
        pool = self.hot if spread == "hot" else self.spread
        out = []
        for _ in range(count):
            self.serial += 1
            debit, credit = rng.sample(pool, 2)
            amount = rng.randint(1, 1_000)
            out.append(NewTransfer(f"run-{self.serial}", debit, credit, amount, "USD", flags=flags))
        return out

    def apply(self, batches: list[list[NewTransfer]]) -> None:
        for batch in batches:
            results = self.service.create_transfers(batch, actor="bench")
            check(results.count(TransferResult.OK) == len(batch), f"refused: {set(results)}")

    def verify(self, replay: list[NewTransfer]) -> None:
        """Every benchmark transfer stored once, duplicates found, the books balanced."""
        before = self.totals()
        if replay:
            results = self.service.create_transfers(replay, actor="bench")
            check(results == [TransferResult.EXISTS] * len(replay), "a duplicate was not found")
        check(self.totals() == before, "a replayed batch changed the totals")
        with self.db.transaction() as connection:
            stored = connection.execute(
                select(func.count(), func.count(func.distinct(transfers.c.id))).where(
                    transfers.c.id.like("run-%"), transfers.c.result == "ok"
                )
            ).one()
        check(stored == (self.stored, self.stored), f"stored {stored}, expected {self.stored}")
        dp, dpo, cp, cpo = before
        check(dp == cp and dpo == cpo, f"debits and credits differ: {before}")
        check(dpo == HOT * FUNDS + self.moved, "posted totals do not match the transfers made")

    def totals(self) -> tuple[int, int, int, int]:
        with self.db.transaction() as connection:
            row = connection.execute(
                select(
                    func.sum(accounts.c.debits_pending),
                    func.sum(accounts.c.debits_posted),
                    func.sum(accounts.c.credits_pending),
                    func.sum(accounts.c.credits_posted),
                )
            ).one()
        return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def plan_run(
    ledger: Ledger, case: Case, events: int, rng: random.Random
) -> list[list[NewTransfer]]:
    """The batches of one run, built before the clock starts."""
    if case.mode == "single_phase":
        flat = ledger.events(events, case.accounts, rng, TransferFlags.NONE)
        ledger.stored += len(flat)
        ledger.moved += sum(e.amount or 0 for e in flat)
        return [flat[i : i + case.batch] for i in range(0, len(flat), case.batch)]
    pendings = ledger.events(events // 2, case.accounts, rng, TransferFlags.PENDING)
    ledger.stored += 2 * len(pendings)
    ledger.moved += sum(e.amount or 0 for e in pendings)  # each is posted in full
    batches: list[list[NewTransfer]] = []
    half = max(1, case.batch // 2)
    for i in range(0, len(pendings), half):
        chunk = pendings[i : i + half]
        posts = [
            NewTransfer(f"{p.id}-post", pending_id=p.id, flags=TransferFlags.POST_PENDING)
            for p in chunk
        ]
        if case.batch == 1:
            batches.extend([[p] for p in chunk] + [[p] for p in posts])
        else:
            batches.extend([chunk, posts])
    return batches


@contextmanager
def frozen() -> Iterator[None]:
    """Keep what exists now (the prepared requests) out of the garbage collector's walks."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure(
    ledger: Ledger, case: Case, plan: Plan, *, framing: bool = False
) -> tuple[float, float]:
    """The median rate over the timed runs, and CPU microseconds per event.

    ``framing``: three runs of one batch and no warm-up (the ledger is warm by then), to frame a
    batcher case quickly.
    """
    rng = random.Random(case.name)
    events = case.batch if framing else plan.events[case.batch]
    if not framing:
        ledger.apply(plan_run(ledger, case, min(events, 2 * case.batch), rng))  # not counted
    rates = []
    cpu = 0.0
    total = 0
    last: list[list[NewTransfer]] = []
    for _ in range(3 if framing else plan.runs):
        batches = plan_run(ledger, case, events, rng)
        count = sum(len(b) for b in batches)
        with frozen():
            start, cpu_start = time.perf_counter(), time.process_time()
            ledger.apply(batches)
            rates.append(count / (time.perf_counter() - start))
            cpu += time.process_time() - cpu_start
        total += count
        last = batches
    # The books: warm-up and timed runs all stored once; the last batches replayed are found.
    ledger.verify([e for b in last[-2:] for e in b][:8190])
    return statistics.median(rates), cpu / total * 1e6


def measure_copy(ledger: Ledger, case: Case, plan: Plan) -> float:
    """The floor: the same transfers stored by a bare binary COPY into a copy of the transfers
    table (same indexes), with no accounts, no checks, no locks; a durable commit per batch."""
    rng = random.Random(f"copy-{case.name}")
    raw_url = ledger.db.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    now = datetime.now(UTC)
    columns = (
        "id, debit_account_id, credit_account_id, amount, currency, pending_id, timeout,"
        " reference, flags, result, timestamp, expires_at"
    )
    types = ["text", "text", "text", "int8", "text", "text", "int4", "text", "int4", "text",
             "timestamptz", "timestamptz"]  # fmt: skip
    rates = []
    with psycopg.connect(raw_url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_copy (LIKE ledger_transfers INCLUDING ALL)")
        conn.commit()
        for run in range(plan.runs + 1):
            pool = ledger.hot if case.accounts == "hot" else ledger.spread
            rows = []
            for i in range(plan.events[case.batch]):
                debit, credit = rng.sample(pool, 2)
                rows.append((f"copy-{run}-{i}", debit, credit, rng.randint(1, 1_000), "USD",
                             None, 0, "", 0, "ok", now, None))  # fmt: skip
            start = time.perf_counter()
            for offset in range(0, len(rows), case.batch):
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
                ):
                    copy.set_types(types)
                    for row in rows[offset : offset + case.batch]:
                        copy.write_row(row)
                conn.commit()
            if run:  # the first run warms up
                rates.append(len(rows) / (time.perf_counter() - start))
        stored = conn.execute("SELECT count(*) FROM bench_copy").fetchone()
        check(stored is not None and stored[0] == len(rows) * (plan.runs + 1), "copy baseline")
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return statistics.median(rates)


@dataclass(frozen=True, slots=True)
class BatcherRun:
    rate: float
    latencies: list[float]
    cpu_us_per_request: float
    mean_batch: float


def measure_batcher(
    ledger: Ledger, accounts: str, load: str, clients: int, total: int
) -> BatcherRun:
    """Concurrent single requests through one batcher: rate, latencies, CPU per request."""
    rng = random.Random(f"batcher-{accounts}-{load}")
    share = total // clients
    events = ledger.events(share * clients, accounts, rng, TransferFlags.NONE)
    ledger.stored += len(events)
    ledger.moved += sum(e.amount or 0 for e in events)
    batcher = TransferBatcher(ledger.service, expire_every=0)
    latencies: list[float] = []
    with frozen():
        start, cpu_start = time.perf_counter(), time.process_time()
        if load == "asyncio":
            asyncio.run(_async_clients(batcher, events, clients, share, latencies))
        else:
            _thread_clients(batcher, events, clients, share, latencies)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    batcher.close()
    sent = share * clients
    check(len(latencies) == sent, "a batcher request went unanswered")
    return BatcherRun(sent / elapsed, latencies, cpu / sent * 1e6, sent / batcher.batches)


async def _async_clients(
    batcher: TransferBatcher,
    events: list[NewTransfer],
    clients: int,
    share: int,
    latencies: list[float],
) -> None:
    async def client(index: int) -> None:
        for event in events[index * share : (index + 1) * share]:
            start = time.perf_counter()
            outcome = await batcher.transfer(event, actor="bench")
            latencies.append(time.perf_counter() - start)
            check(outcome.result is TransferResult.OK, f"batcher refused: {outcome.result}")

    await asyncio.gather(*(client(i) for i in range(clients)))


def _thread_clients(
    batcher: TransferBatcher,
    events: list[NewTransfer],
    clients: int,
    share: int,
    latencies: list[float],
) -> None:
    lock = threading.Lock()

    def client(index: int) -> None:
        local = []
        for event in events[index * share : (index + 1) * share]:
            start = time.perf_counter()
            outcome = batcher.create_transfer(event, timeout=60, actor="bench")
            local.append(time.perf_counter() - start)
            check(outcome.result is TransferResult.OK, f"batcher refused: {outcome.result}")
        with lock:
            latencies.extend(local)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def run(plan: Plan, *, postgres_url: str | None) -> None:
    engines = ["postgresql", "sqlite"] if postgres_url else ["sqlite"]
    for engine in engines:
        with tempfile.TemporaryDirectory() as tmp, _database(engine, tmp, postgres_url) as url:
            ledger = Ledger(url)
            direct: list[str] = []  # the accounts of the direct 8,190 single-phase cases
            for case in (c for c in plan.cases if c.db == engine):
                rate, cpu_us = measure(ledger, case, plan)
                emit(
                    case.name, "transfers_per_s", rate, plan.runs, cpu_us_per_event=round(cpu_us, 1)
                )
                if case.batch == 8190 and case.mode == "single_phase":
                    direct.append(case.accounts)
                    if engine == "postgresql":
                        floor = measure_copy(ledger, case, plan)
                        emit(case.name, "ratio_vs_copy", rate / floor, plan.runs,
                             copy_rows_per_s=round(floor, 1))  # fmt: skip
            if engine == "postgresql":
                for spread, (load, clients, total) in itertools.product(direct, plan.batcher):
                    # The direct rate right before and right after: the machine's load drifts.
                    baseline = Case(engine, 8190, "single_phase", spread)
                    before, before_cpu = measure(ledger, baseline, plan, framing=True)
                    got = measure_batcher(ledger, spread, load, clients, total)
                    after, after_cpu = measure(ledger, baseline, plan, framing=True)
                    base = (before + after) / 2
                    name = f"batcher,load={load},clients={clients},db={engine},accounts={spread}"
                    emit(
                        name,
                        "transfers_per_s",
                        got.rate,
                        1,
                        p50_ms=percentile_ms(got.latencies, 0.5),
                        p95_ms=percentile_ms(got.latencies, 0.95),
                        p99_ms=percentile_ms(got.latencies, 0.99),
                        cpu_us_per_request=round(got.cpu_us_per_request, 1),
                        mean_batch=round(got.mean_batch, 1),
                    )
                    emit(
                        name,
                        "ratio_vs_direct",
                        got.rate / base,
                        1,
                        direct_before=round(before, 1),
                        direct_after=round(after, 1),
                        direct_cpu_us_per_event=round((before_cpu + after_cpu) / 2, 1),
                    )
                ledger.verify([])
            ledger.db.dispose()


@contextmanager
def _database(engine: str, tmp: str, postgres_url: str | None) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    assert postgres_url is not None
    with postgres_database(postgres_url) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_core", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the PostgreSQL cases (SQLite only)"
    )
    args = parser.parse_args(argv)
    # A stopped run still drops its PostgreSQL database: SIGTERM unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    postgres_url = None
    if not args.no_postgres:
        postgres_url = os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        run(QUICK if args.quick else FULL, postgres_url=postgres_url)
    except BenchFailure as failure:
        print(f"bench.ledger_core: WRONG RESULT: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
