"""Benchmark: the registries block — bulk import, then ``exists`` and search on an indexed field
through the HTTP API.

Run from the repository root: ``.venv/bin/python -m bench.registries [--quick]``.

Import: synthetic households of the shipped social registry (5 indexed fields, one unique, 1-8
members each, about 900 bytes of JSON) are written to a JSON Lines file first; the timed part
reads that file and imports it through ``import_records`` (all-or-nothing, one transaction):
parsing, schema validation, id and unique checks, the revision chain (one SHA-256 link per
record), the indexed values in the records' slot columns and the commit.

HTTP: a real uvicorn server in a separate process (``baobab`` app factory with the registries
router), called over loopback by the load generator of :mod:`bench.registries_load` (asyncio,
keep-alive connections, a request head from a template): ``POST
/registries/data/social-registry/1.0/exists`` by village (an indexed field; one in ten values does
not exist) and ``GET /registries/data/social-registry/1.0?query.village=...`` (first page of 10 and
the total count). Each is measured twice: one request at a time (``client=sequential``), and open
loop at a stated rate (``client=rate=100/s`` by default, ``--rate``), where each latency runs from
the moment the request was due, so queueing behind a slow answer counts. The caller holds the
``read`` right only, so no personal data is returned (reads of personal data would also append to
the disclosure chain). Client, server and database share the machine's cores. Before the HTTP
cases the tables are vacuumed (on PostgreSQL; what autovacuum does within minutes of a bulk load),
so counts are index-only, and a ``CHECKPOINT`` writes out the pages the import and the vacuum
dirtied, so the reads are not timed against a checkpoint still spreading its writes. Each
latency line also gives the share of its requests the server itself answered within 10 ms, from
its own latency histogram (``/metrics``).

The import line gives the CPU of the importing process per record (``cpu_us_per_record``, every
thread) and, on a PostgreSQL server on the same machine, that of the database's server processes
(``server_cpu_us_per_record``, from ``/proc``; not the WAL writer or autovacuum).

Every figure is checked: the number of records, the chain head, a sample of records read back
equal to what was imported, every exists answer and every search count against the generated
data; the whole chain is verified in --quick mode. Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx

from baobab.bootstrap import Platform, bootstrap
from baobab.directory import (
    DIRECTORY_SCOPES,
    JWT_BEARER,
    ClientId,
    DirectoryService,
    Role,
    ServiceRef,
    TokenRequest,
    client_assertion,
)
from baobab.directory.adapters.sql import SqlDirectoryUnitOfWork
from baobab.infra.database import Database
from baobab.infra.settings import Settings
from baobab.kernel.signing import Signer
from baobab.registries import (
    REGISTRIES_SCOPES,
    Caller,
    RegistryService,
    example_schema,
    import_records,
    read_jsonl,
    write_jsonl,
)
from baobab.registries.adapters.sql import vacuum
from baobab.registries.examples import households
from bench.databases import postgres_database
from bench.registries_load import Answer, Call, run_load

BENCH = "registries"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CODE = "social-registry"
DATA = f"/registries/data/{CODE}/1.0"
DATA_TEMPLATE = "/registries/data/{registry}/{version}"
OPERATOR = Caller("bench", unrestricted=True)
READER = "GOV/MOF/planning"


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Sizes:
    records: int
    requests: int  # per HTTP case
    verify_all: bool
    rate: float = 100.0  # requests per second of the open-loop cases


QUICK = Sizes(records=20_000, requests=400, verify_all=True)
FULL = Sizes(records=1_000_000, requests=3_000, verify_all=False)


def emit(case: str, metric: str, value: float, unit: str, runs: int, **extra: Any) -> None:
    line: dict[str, Any] = {
        "bench": BENCH,
        "case": case,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "runs": runs,
    }
    line.update(extra)
    print(json.dumps(line), flush=True)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --- databases -------------------------------------------------------------------------------


def settings_for(data_dir: Path, url: str, port: int = 8000) -> Settings:
    return Settings(
        data_dir=data_dir, database_url=url, public_url=f"http://127.0.0.1:{port}", port=port
    )


def open_platform(settings: Settings) -> tuple[Platform, RegistryService]:
    # every block's tables: the platform's background workers (the ledger's expiry) run too
    platform = bootstrap(settings, upgrade=True)
    return platform, platform.registries


# --- import ----------------------------------------------------------------------------------


def write_file(path: Path, count: int) -> Counter[str]:
    villages: Counter[str] = Counter()
    with path.open("w", encoding="utf-8") as out:
        for record in households(count, seed=42):
            villages[record["village"]] += 1
            out.writelines(write_jsonl([record]))
    return villages


def server_cpu(db: Database) -> float | None:
    """CPU seconds used so far by the PostgreSQL server processes of ``db``'s database (its
    backends, named after it in their process titles), read from ``/proc``; ``None`` when the
    server is not on this machine or not PostgreSQL."""
    name = db.engine.url.database
    if db.dialect != "postgresql" or not name or not Path("/proc").is_dir():
        return None
    ticks, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if title.startswith(b"postgres:") and f" {name} ".encode() in title:
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def checkpoint(db: Database) -> None:
    """On PostgreSQL: write every dirty buffer out now. The import and its vacuum leave gigabytes
    of dirty pages and a checkpoint spread over the following minutes (``max_wal_size`` forces
    one every few hundred thousand records); without this the read cases below would be timed
    against that checkpoint's writes and its final ``fsync``, which a steady service does not
    see after every bulk load."""
    if db.dialect != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("CHECKPOINT")


def bench_import(
    engine: str, service: RegistryService, db: Database, path: Path, count: int
) -> None:
    service.define(OPERATOR, code=CODE, version="1.0", schema=example_schema(CODE))
    server_before = server_cpu(db)
    started, cpu = time.perf_counter(), time.process_time()  # CPU of every thread of ours
    with path.open(encoding="utf-8") as source:
        report = import_records(service, OPERATOR, CODE, "1.0", read_jsonl(source))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = server_cpu(db)
    server: dict[str, float] = {}
    if server_before is not None and server_after is not None:
        server["server_cpu_us_per_record"] = round((server_after - server_before) / count * 1e6, 1)
    check(report.imported == count, f"{engine}: imported {report.imported} of {count}")
    cleaned = time.perf_counter()
    vacuum(db)  # what autovacuum does within minutes; counts then need no heap visits
    cleaned = time.perf_counter() - cleaned
    flushed = time.perf_counter()
    checkpoint(db)
    flushed = time.perf_counter() - flushed
    page = service.search(OPERATOR, CODE, "1.0", filters={}, page_size=1)
    check(page.count == count, f"{engine}: {page.count} live records, expected {count}")
    emit(
        f"db={engine},records={count}",
        "import_records_per_s",
        count / elapsed,
        "1/s",
        1,
        seconds=round(elapsed, 2),
        vacuum_seconds=round(cleaned, 2),
        checkpoint_seconds=round(flushed, 2),
        cpu_us_per_record=round(cpu / count * 1e6, 1),
        **server,
    )


def check_sample(engine: str, service: RegistryService, path: Path, count: int) -> None:
    rng = random.Random(1)
    wanted = set(rng.sample(range(1, count + 1), min(count, 500)))
    with path.open(encoding="utf-8") as source:
        for number, line in enumerate(source, start=1):
            if number in wanted:
                record = json.loads(line)
                stored = service.read(
                    OPERATOR, CODE, "1.0", {"household_id": record["household_id"]}
                )
                check(dict(stored.data) == record, f"{engine}: {record['household_id']} differs")


def verify(engine: str, service: RegistryService, count: int) -> None:
    started = time.perf_counter()
    verdict = service.verify(OPERATOR, CODE)
    elapsed = time.perf_counter() - started
    check(verdict.intact and verdict.revisions == count, f"{engine}: chain {verdict}")
    emit(f"db={engine},records={count}", "verify_revisions_per_s", count / elapsed, "1/s", 1)


# --- HTTP ------------------------------------------------------------------------------------


def reader_token(platform: Platform, service: RegistryService) -> str:
    db = platform.db
    directory = DirectoryService(
        uow=lambda: SqlDirectoryUnitOfWork(db),
        clock=platform.clock,
        scopes={*DIRECTORY_SCOPES, *REGISTRIES_SCOPES},
    )
    client = ClientId.parse(f"{platform.settings.instance}/{READER}")
    directory.add_member(
        actor="bench", member_id=client.member, name="Planning", roles=[Role.MINISTRY]
    )
    directory.add_subsystem(actor="bench", client_id=client)
    signer = Signer.generate("P-256")
    directory.add_key(actor="bench", client_id=client, jwk=signer.public_jwk())
    directory.grant(actor="bench", client_id=client, service=ServiceRef(None, "registries:read"))
    service.grant(OPERATOR, code=CODE, client_id=str(client), operations=["read"])
    assertion = client_assertion(
        signer,
        client_id=str(client),
        audience=platform.settings.token_endpoint,
        now=platform.clock.now(),
    )
    request = TokenRequest("client_credentials", JWT_BEARER, assertion, "registries:read")
    return platform.tokens.issue(request).access_token


@contextmanager
def server(settings: Settings) -> Iterator[str]:
    env = {
        **os.environ,
        "BAOBAB_DATA_DIR": str(settings.data_dir),
        "BAOBAB_DATABASE_URL": str(settings.database_url),
        "BAOBAB_PUBLIC_URL": settings.public_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.registries", "--serve", str(settings.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{settings.port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stderr.read().decode() if process.stderr else ""
                raise BenchFailure(f"the server did not start: {output}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def serve(port: int) -> None:
    """The server side: the registries' and directory's routers under uvicorn, from BAOBAB_*."""
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    from baobab.directory import api as directory_api  # noqa: PLC0415
    from baobab.infra.http.app import create_http_app  # noqa: PLC0415
    from baobab.registries.api import build_router  # noqa: PLC0415

    settings = Settings()
    platform = bootstrap(settings, upgrade=False)
    routers = [
        directory_api.build_router(
            instance=settings.instance,
            directory=platform.directory,
            tokens=platform.tokens,
            jwks=[platform.signer.public_jwk()],
        ),
        build_router(registries=platform.registries),
    ]
    app = create_http_app(
        title="bench",
        version="bench",
        routers=routers,
        verifier=platform.verifier,
        check_ready=platform.check_ready,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def http_calls(villages: Counter[str], requests: int, seed: int) -> tuple[list[Call], list[Call]]:
    """``requests`` exists probes by village (one in ten for a village that does not exist)
    and as many first-page searches by village."""
    rng = random.Random(seed)
    names = sorted(villages)
    probes = [rng.choice(names) if i % 10 else f"Nowhere-{seed}-{i}" for i in range(requests)]
    exists = [
        Call("POST", f"{DATA}/exists", json.dumps({"query": {"content": {"village": v}}}).encode())
        for v in probes
    ]
    searches = [
        Call("GET", f"{DATA}?query.village={quote(rng.choice(names))}&page_size=10")
        for _ in range(requests)
    ]
    return exists, searches


def answer_checker(villages: Counter[str], calls: list[Call]) -> Callable[[int, Answer], None]:
    """Checks every answer against the generated data."""

    def checked(index: int, answer: Answer) -> None:
        call = calls[index]
        check(answer.status == 200, f"{call.method} {call.path} answered {answer.status}")
        body = json.loads(answer.body)
        if call.method == "POST":
            village = json.loads(call.body)["query"]["content"]["village"]
            found = body["answer"]["status"]
            check(found is (village in villages), f"exists was wrong for {village}")
        else:
            village = unquote(call.path.split("query.village=", 1)[1].split("&", 1)[0])
            check(body["count"] == villages[village], f"search count wrong for {village}")
            check(
                all(r["content"]["village"] == village for r in body["results"]),
                "search returned another village",
            )

    return checked


def bench_http(engine: str, base: str, token: str, villages: Counter[str], sizes: Sizes) -> None:
    host, port = base.removeprefix("http://").split(":")
    warm, _ = http_calls(villages, 50, seed=2)
    run_load(  # warm-up: connections, caches, the verifier's token memo, prepared statements
        host=host,
        port=int(port),
        token=token,
        calls=warm,
        check=answer_checker(villages, warm),
        rate=None,
    )
    for rate in (None, sizes.rate):
        exists, searches = http_calls(villages, sizes.requests, seed=3 if rate is None else 4)
        client = "sequential" if rate is None else f"rate={rate:g}/s"
        case = f"db={engine},records={sizes.records},http=uvicorn-process,client={client}"
        for metric, calls, route in (
            ("exists", exists, f"{DATA_TEMPLATE}/exists"),
            ("search", searches, DATA_TEMPLATE),
        ):
            before = server_counts(base, token)
            samples = run_load(
                host=host,
                port=int(port),
                token=token,
                calls=calls,
                check=answer_checker(villages, calls),
                rate=rate,
            )
            within, total = server_counts(base, token)
            served = (within[route] - before[0].get(route, 0)) / (
                total[route] - before[1].get(route, 0)
            )
            emit(
                case,
                f"{metric}_p99_ms",
                percentile(samples, 0.99),
                "ms",
                len(samples),
                p50_ms=round(percentile(samples, 0.5), 3),
                p95_ms=round(percentile(samples, 0.95), 3),
                mean_ms=round(statistics.mean(samples) * 1000, 3),
                server_share_within_10ms=round(served, 4),
            )


def server_counts(base: str, token: str) -> tuple[dict[str, float], dict[str, float]]:
    """Per route, how many requests the server itself answered within 10 ms, and how many in
    all (its latency histogram, without the client's and the scheduler's share)."""
    metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    within: dict[str, float] = {}
    total: dict[str, float] = {}
    for line in metrics.splitlines():
        if not line.startswith("baobab_http_request_duration_seconds_bucket"):
            continue
        labels, value = line.rsplit(" ", 1)
        route = labels.split('route="', 1)[1].split('"', 1)[0]
        if 'le="0.01"' in labels:
            within[route] = within.get(route, 0.0) + float(value)
        elif 'le="+Inf"' in labels:
            total[route] = total.get(route, 0.0) + float(value)
    return within, total


# --- driver ----------------------------------------------------------------------------------


def run_engine(
    *,
    engine: str,
    url: str,
    work: Path,
    data_file: Path,
    villages: Counter[str],
    sizes: Sizes,
    port: int,
) -> None:
    settings = settings_for(work / engine, url, port)
    platform, service = open_platform(settings)
    try:
        bench_import(engine, service, platform.db, data_file, sizes.records)
        check_sample(engine, service, data_file, sizes.records)
        if sizes.verify_all:
            verify(engine, service, sizes.records)
        token = reader_token(platform, service)
    finally:
        platform.close()
    with server(settings) as base:
        bench_http(engine, base, token, villages, sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.registries", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument("--records", type=int, help="override the number of records")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--verify", action="store_true", help="verify the whole chain too")
    parser.add_argument("--rate", type=float, help="requests per second of the open-loop cases")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    sizes = QUICK if args.quick else FULL
    if args.records:
        sizes = replace(sizes, records=args.records)
    if args.verify:
        sizes = replace(sizes, verify_all=True)
    if args.rate:
        sizes = replace(sizes, rate=args.rate)
    try:
        with tempfile.TemporaryDirectory(prefix="baobab-bench-") as tmp:
            work = Path(tmp)
            data_file = work / "households.jsonl"
            villages = write_file(data_file, sizes.records)
            from baobab.demo.stack import free_port  # noqa: PLC0415

            if args.engine in ("sqlite", "both"):
                url = f"sqlite:///{work / 'sqlite.db'}"
                run_engine(
                    engine="sqlite",
                    url=url,
                    work=work,
                    data_file=data_file,
                    villages=villages,
                    sizes=sizes,
                    port=free_port(),
                )
            if args.engine in ("postgresql", "both"):
                admin = os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
                with postgres_database(admin) as url:
                    run_engine(
                        engine="postgresql",
                        url=url,
                        work=work,
                        data_file=data_file,
                        villages=villages,
                        sizes=sizes,
                        port=free_port(),
                    )
    except BenchFailure as failure:
        print(f"bench.registries: WRONG RESULT: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
