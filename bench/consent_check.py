"""Benchmark: the consent check, ``ConsentService.check``, with many records in the table.

Run from the repository root: ``.venv/bin/python -m bench.consent_check [--quick]``.

The check is the question the exchange gateway and eKYC ask before personal data moves: is
there valid consent for (individual, agreement, purpose, recipient) now? It runs in process on
one thread against SQLite (a temporary directory) and PostgreSQL (a fresh database, dropped at
the end), with ``records`` consent records for one agreement: most are seeded in bulk with SQL
(synthetic, unsigned: the check reads only the current-state row), ``live`` more are given
through the service (chained, signed, audited). Every timed check is compared with the answer it
must give (three in four seeded individuals opted in), then every live individual withdraws and
is checked at once: each must be refused on the very next call, and each live record's chain
and signatures must verify. Any wrong answer exits non-zero.

Reference line, same process, same minute: the bare primary-key lookup of the same row on the
same driver (``ratio_vs_pk_lookup``); the check adds the join on the agreement, the decision and
the service around them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from baobab.bootstrap import Platform, bootstrap
from baobab.consent import (
    AgreementTerms,
    Channel,
    ConsentService,
    DataAttribute,
    LawfulBasis,
    PolicyRef,
)
from baobab.consent.adapters.sql import SqlConsentReader, SqlConsentUnitOfWork
from baobab.infra import migrate
from baobab.infra.audit import verify_audit
from baobab.infra.database import Database
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.hashchain import GENESIS
from bench.databases import postgres_database

BENCH = "consent_check"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BANK = "DEV/COM/BANKA"
PURPOSE = "ekyc"


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Sizes:
    records: int  # seeded records for the agreement
    live: int  # records given (and then withdrawn) through the service
    checks: int  # checks per timed run
    runs: int
    threads: tuple[int, ...] = (2,)  # thread counts of the concurrent cases


QUICK = Sizes(records=50_000, live=100, checks=5_000, runs=3, threads=(2,))
FULL = Sizes(records=1_000_000, live=1_000, checks=50_000, runs=5, threads=(2,))


def emit(case: str, metric: str, value: float, runs: int, **extra: Any) -> None:
    unit = "1/s" if metric.endswith("_per_s") else ("ms" if metric.endswith("_ms") else "ratio")
    line: dict[str, Any] = {
        "bench": BENCH,
        "case": case,
        "metric": metric,
        "value": round(value, 1) if unit == "1/s" else round(value, 4),
        "unit": unit,
        "runs": runs,
    }
    line.update(extra)
    print(json.dumps(line), flush=True)


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 4)


def seeded_token(i: int) -> str:
    return f"tok-seed-{i:09d}"


def seeded_opt_in(i: int) -> bool:
    return i % 4 != 0


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class Instance:
    engine: str
    platform: Platform
    consent: ConsentService
    reader: SqlConsentReader
    agreement_id: str

    def close(self) -> None:
        self.reader.close()
        self.platform.close()


def open_instance(engine: str, data_dir: Path, database_url: str | None) -> Instance:
    settings = Settings(data_dir=data_dir, database_url=database_url, sqlite_synchronous="NORMAL")
    platform = bootstrap(settings, upgrade=True)
    migrate.upgrade(platform.db, dict.fromkeys([*BLOCKS, "consent"]))
    reader = SqlConsentReader(platform.db)

    def uow() -> SqlConsentUnitOfWork:
        return SqlConsentUnitOfWork(platform.db)

    consent = ConsentService(uow=uow, reader=reader, clock=platform.clock, signer=platform.signer)
    terms = AgreementTerms(
        purpose=PURPOSE,
        purpose_description="Verify the customer's identity when an account is opened",
        lawful_basis=LawfulBasis.CONSENT,
        attributes=(
            DataAttribute("full_name", "identity"),
            DataAttribute("birth_date", "identity"),
        ),
        recipients=(BANK,),
        retention_days=365,
        policy=PolicyRef("Bank A privacy policy", "1", "https://banka.example/privacy/1", "ZZ"),
    )
    agreement = consent.agreements.create(actor="bench", organisation=BANK, terms=terms)
    return Instance(engine, platform, consent, reader, agreement.agreement_id)


_STATE_COLUMNS = (
    "agreement_id, individual, record_id, organisation, sequence, opt_in, agreement_revision,"
    " expires_at"
)
_STATE_SELECT = (
    "SELECT :aid, {name}, {record_id}, :org, 1, (i % 4 <> 0), 1, NULL FROM ({numbers}) AS n"
)
_REVISION_COLUMNS = (
    "record_id, sequence, agreement_id, individual, organisation, agreement_revision,"
    " agreement_revision_hash, opt_in, given_at, withdrawn_at, expires_at, channel, at, actor,"
    " previous_hash, hash, signature"
)
_REVISION_SELECT = (
    "SELECT {record_id}, 1, :aid, {name}, :org, 1, :rhash, (i % 4 <> 0), :at, NULL, NULL,"
    " 'web', :at, 'bench-seed', :genesis, {digest}, '' FROM ({numbers}) AS n"
)
_PK_LOOKUP = "SELECT opt_in FROM consent_records WHERE agreement_id = {p} AND individual = {p}"


def seed(instance: Instance, count: int) -> float:
    """``count`` synthetic current records (and their first revision) in bulk; seconds taken."""
    db: Database = instance.platform.db
    started = time.perf_counter()
    revision_hash = instance.consent.agreements.get(BANK, instance.agreement_id).hash
    at = instance.platform.clock.now()
    if db.dialect == "sqlite":
        at = at.replace(tzinfo=None)  # SQLite keeps UTC as naive text, as UtcDateTime does
    params = {
        "n": count,
        "aid": instance.agreement_id,
        "org": BANK,
        "rhash": revision_hash,
        "genesis": GENESIS,
        "at": at,
    }
    if db.dialect == "postgresql":
        numbers = "SELECT g AS i FROM generate_series(0, :n - 1) AS g"
        record_id = "'00000000-0000-7000-8000-' || lpad(i::text, 12, '0')"
        name = "'tok-seed-' || lpad(i::text, 9, '0')"
        digest = "md5(i::text) || md5(i::text)"
    else:
        numbers = (
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :n)"
            " SELECT i FROM n"
        )
        record_id = "'00000000-0000-7000-8000-' || printf('%012d', i)"
        name = "'tok-seed-' || printf('%09d', i)"
        digest = "printf('%064d', i)"
    # only the constant SQL fragments above are formatted in; every value is a bound parameter
    parts = {"record_id": record_id, "name": name, "digest": digest, "numbers": numbers}
    with db.transaction() as connection:
        for table, columns, select in (
            ("consent_records", _STATE_COLUMNS, _STATE_SELECT),
            ("consent_record_revisions", _REVISION_COLUMNS, _REVISION_SELECT),
        ):
            statement = f"INSERT INTO {table} ({columns}) {select.format(**parts)}"
            connection.execute(text(statement), params)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE consent_records"))
            connection.execute(text("VACUUM ANALYZE consent_record_revisions"))
    return time.perf_counter() - started


# --- the timed checks ------------------------------------------------------------------------


def timed_checks(
    instance: Instance, indexes: list[int], latencies: list[float]
) -> tuple[int, float]:
    """Check each seeded individual in ``indexes``; every answer must be the right one."""
    consent_check = instance.consent.check
    agreement_id = instance.agreement_id
    tokens = [seeded_token(i) for i in indexes]
    answers: list[bool] = []
    clock = time.perf_counter
    started = clock()
    for token in tokens:
        before = clock()
        decision = consent_check(
            individual=token, agreement_id=agreement_id, purpose=PURPOSE, recipient=BANK
        )
        latencies.append(clock() - before)
        answers.append(decision.allowed)
    elapsed = clock() - started
    wrong = sum(1 for i, a in zip(indexes, answers, strict=True) if a != seeded_opt_in(i))
    check(wrong == 0, f"{instance.engine}: {wrong} checks gave the wrong answer")
    return len(tokens), elapsed


@contextmanager
def pk_lookup(instance: Instance) -> Iterator[Callable[[list[int]], tuple[int, float]]]:
    """The baseline: the bare primary-key read of the same row, on the same driver."""
    db = instance.platform.db
    placeholder = "%s" if db.dialect == "postgresql" else "?"
    sql = _PK_LOOKUP.format(p=placeholder)
    engine = (
        create_engine(db.engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
        if db.dialect == "postgresql"
        else db.engine
    )

    def run(indexes: list[int]) -> tuple[int, float]:
        tokens = [seeded_token(i) for i in indexes]
        aid = instance.agreement_id
        started = time.perf_counter()
        for token in tokens:
            connection = engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(sql, (aid, token))
                cursor.fetchone()
                cursor.close()
            finally:
                connection.close()
        return len(tokens), time.perf_counter() - started

    try:
        yield run
    finally:
        if engine is not db.engine:
            engine.dispose()


def bench_checks(instance: Instance, sizes: Sizes) -> None:
    case = f"records={sizes.records + sizes.live},db={instance.engine}"
    rng = random.Random(7)
    with pk_lookup(instance) as baseline:
        compare(instance, sizes, case, rng, baseline)


def compare(
    instance: Instance,
    sizes: Sizes,
    case: str,
    rng: random.Random,
    baseline: Callable[[list[int]], tuple[int, float]],
) -> None:
    """Timed checks on one thread, each run followed by the baseline on the same rows."""
    warm = [rng.randrange(sizes.records) for _ in range(min(5_000, sizes.checks))]
    timed_checks(instance, warm, [])
    baseline(warm)
    latencies: list[float] = []
    rates: list[float] = []
    ratios: list[float] = []
    for _ in range(sizes.runs):
        indexes = [rng.randrange(sizes.records) for _ in range(sizes.checks)]
        count, seconds = timed_checks(instance, indexes, latencies)
        base_count, base_seconds = baseline(indexes)
        rates.append(count / seconds)
        ratios.append((count / seconds) / (base_count / base_seconds))
    emit(case, "checks_per_s", statistics.median(rates), sizes.runs)
    emit(case, "p50_ms", percentile_ms(latencies, 0.50), sizes.runs)
    emit(case, "p99_ms", percentile_ms(latencies, 0.99), sizes.runs)
    emit(case, "ratio_vs_pk_lookup", statistics.median(ratios), sizes.runs)


def bench_threads(instance: Instance, sizes: Sizes, threads: int) -> None:
    """The same checks from ``threads`` threads at once, as a server's worker threads make them:
    while one thread waits for the database another runs. Throughput is over the wall clock."""
    case = f"records={sizes.records + sizes.live},db={instance.engine},threads={threads}"
    rng = random.Random(11)
    rates: list[float] = []
    latencies: list[float] = []
    for _ in range(sizes.runs):
        shares = [
            [rng.randrange(sizes.records) for _ in range(sizes.checks // threads)]
            for _ in range(threads)
        ]
        count, elapsed = concurrently(instance, shares, latencies)
        rates.append(count / elapsed)
    emit(case, "checks_per_s", statistics.median(rates), sizes.runs)
    emit(case, "p50_ms", percentile_ms(latencies, 0.50), sizes.runs)
    emit(case, "p99_ms", percentile_ms(latencies, 0.99), sizes.runs)


def bench_batches(instance: Instance, sizes: Sizes, batch: int) -> None:
    """``check_many``: one read for ``batch`` individuals, as the gateway checks a list."""
    case = f"records={sizes.records + sizes.live},db={instance.engine},batch={batch}"
    rng = random.Random(13)
    check_many = instance.consent.check_many
    rates: list[float] = []
    latencies: list[float] = []
    for run in range(sizes.runs + 1):  # run 0 warms up
        calls = [
            [rng.randrange(sizes.records) for _ in range(batch)]
            for _ in range(sizes.checks // batch)
        ]
        run_latencies: list[float] = []
        wrong = 0
        started = time.perf_counter()
        for indexes in calls:
            before = time.perf_counter()
            decisions = check_many(
                individuals=[seeded_token(i) for i in indexes],
                agreement_id=instance.agreement_id,
                purpose=PURPOSE,
                recipient=BANK,
            )
            run_latencies.append(time.perf_counter() - before)
            wrong += sum(
                1 for i, d in zip(indexes, decisions, strict=True) if d.allowed != seeded_opt_in(i)
            )
        elapsed = time.perf_counter() - started
        check(wrong == 0, f"{instance.engine}: {wrong} batched checks gave the wrong answer")
        if run > 0:
            rates.append(len(calls) * batch / elapsed)
            latencies += run_latencies
    emit(case, "checks_per_s", statistics.median(rates), sizes.runs)
    emit(case, "p50_ms", percentile_ms(latencies, 0.50), sizes.runs, per="batch")
    emit(case, "p99_ms", percentile_ms(latencies, 0.99), sizes.runs, per="batch")


def concurrently(
    instance: Instance, shares: list[list[int]], latencies: list[float]
) -> tuple[int, float]:
    """Run one thread per share of checks, started together; checks done and wall seconds."""
    per_thread: list[list[float]] = [[] for _ in shares]
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(shares) + 1)

    def work(n: int) -> None:
        barrier.wait()
        try:
            timed_checks(instance, shares[n], per_thread[n])
        except BaseException as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(len(shares))]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    for each in per_thread:
        latencies += each
    return sum(len(share) for share in shares), elapsed


# --- live records: given and withdrawn through the service -----------------------------------


def bench_withdrawals(instance: Instance, sizes: Sizes) -> None:
    """Give consent for ``live`` individuals, then withdraw each and check it at once."""
    consent = instance.consent
    aid = instance.agreement_id
    tokens = [f"tok-live-{n:06d}" for n in range(sizes.live)]
    for token in tokens:
        consent.give(
            actor="bench",
            organisation=BANK,
            agreement_id=aid,
            individual=token,
            channel=Channel.MOBILE,
        )
    for token in tokens:
        decision = consent.check(
            individual=token, agreement_id=aid, purpose=PURPOSE, recipient=BANK
        )
        check(decision.allowed, f"{instance.engine}: consent given but the check refused")
    record_ids = []
    latencies: list[float] = []
    started = time.perf_counter()
    for token in tokens:
        before = time.perf_counter()
        record = consent.withdraw(
            actor="bench",
            organisation=BANK,
            agreement_id=aid,
            individual=token,
            channel=Channel.MOBILE,
        )
        decision = consent.check(
            individual=token, agreement_id=aid, purpose=PURPOSE, recipient=BANK
        )
        latencies.append(time.perf_counter() - before)
        check(
            not decision.allowed and decision.reason == "withdrawn",
            f"{instance.engine}: the check after a withdrawal said {decision}",
        )
        record_ids.append(record.record_id)
    elapsed = time.perf_counter() - started
    case = f"withdraw_then_check,db={instance.engine}"
    emit(case, "withdrawals_per_s", len(tokens) / elapsed, 1)
    emit(case, "p99_ms", percentile_ms(latencies, 0.99), 1)
    for record_id in record_ids:
        broken = consent.verify_record(record_id)
        check(broken is None, f"{instance.engine}: record {record_id} does not verify: {broken}")
    _, broken_audit = verify_audit(instance.platform.db)
    check(broken_audit is None, f"{instance.engine}: the audit chain is broken: {broken_audit}")


def run_engine(engine: str, data_dir: Path, url: str | None, sizes: Sizes) -> None:
    instance = open_instance(engine, data_dir, url)
    try:
        seconds = seed(instance, sizes.records)
        emit(f"records={sizes.records},db={engine}", "seed_rows_per_s", sizes.records / seconds, 1)
        bench_withdrawals(instance, sizes)
        bench_checks(instance, sizes)
        for threads in sizes.threads:
            bench_threads(instance, sizes, threads)
        bench_batches(instance, sizes, 100)
    finally:
        instance.close()


def run(sizes: Sizes, *, postgres_url: str | None, sqlite: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="baobab-bench-") as tmp:
        if sqlite:
            run_engine("sqlite", Path(tmp) / "sqlite", None, sizes)
        if postgres_url is not None:
            with postgres_database(postgres_url) as url:
                run_engine("postgresql", Path(tmp) / "postgresql", url, sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consent_check", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--records", type=int, help="override the number of seeded records")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.records is not None:
        sizes = Sizes(args.records, sizes.live, sizes.checks, sizes.runs, sizes.threads)
    postgres_url = None
    if not args.no_postgres:
        postgres_url = os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        run(sizes, postgres_url=postgres_url, sqlite=not args.no_sqlite)
    except BenchFailure as failure:
        print(f"bench.consent_check: WRONG RESULT: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
