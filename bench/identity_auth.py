"""Benchmark: yes/no authentication over real HTTP, and enrolment with deduplication.

Run from the repository root: ``.venv/bin/python -m bench.identity_auth [--quick]``.

**Authentication.** The identity router runs in uvicorn (one process) on a free port over an
embedded SQLite database; a load generator in this process keeps ``--connections`` keep-alive
HTTP/1.1 connections busy with ``POST /identity/authenticate`` (demographic factor: given name
and year of birth) for a relying party whose bearer access token is verified on every request.
One request in ten claims a wrong year and must be answered "no"; every answer is checked. Each
authentication is audited through the group-commit journal; afterwards the audit chain must
verify and hold exactly one ``identity.authentication`` entry per request sent. Server and load
generator share this machine's cores. Those runs are closed loop (a connection sends its next
request when the answer comes, so a slow server slows the load); with ``--rate R`` (the full run:
1,500/s) one more run is open loop: requests fall due at a constant rate over the same
connections, and latency counts from when a request was due (``arrivals=constant``).

**Enrolment.** ``EnrolmentService.submit`` on the full path (packet signature against the
agency's registered key, schema check, deduplication against a gallery of ``--gallery`` synthetic
records held by the matching engine, SQL commit with encrypted attributes, audit entry), from
``--submitters`` threads at once (agencies sending side by side). Half the packets are new
people; half are exact re-enrolments of gallery people, and every one of those must come out
``duplicate`` of the right record.

**In process** (``--asgi N``): the same app and requests driven through ASGI by 32 tasks, no
sockets (``bench/identity_asgi.py``): the server's CPU per authentication alone.

Prints ``auth_per_s``, ``p50_ms``, ``p99_ms`` and ``enrolments_per_s`` as JSON lines, and the
CPU time per operation (``server_cpu_us_per_auth``: the server processes' user + system time
over the run divided by the answers, ``event_loop_cpu_us_per_auth`` the part of it spent by
their main threads, the rest being mostly the audit journal's writer; ``cpu_us_per_enrolment``),
the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

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
from baobab.identity import IDENTITY_SCOPES, PacketState
from baobab.identity.adapters.wiring import IdentityBlock, assemble
from baobab.identity.matching.population import generate_population
from baobab.infra import migrate
from baobab.infra.audit import audit_log, verify_audit
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.signing import Signer
from bench.identity_asgi import cpu_per_request

BENCH = "identity_auth"
PARTNERS = ("BANKA", "BANKB", "BANKC", "BANKD")  # the relying parties sending the requests
SEX = {"F": "female", "M": "male", "female": "female", "male": "male"}


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Sizes:
    people: int  # identities enrolled for the authentication run
    runs: int
    seconds: float  # per timed authentication run
    connections: int
    gallery: int
    enrolments: int
    rate: float  # requests/s of the open-loop run after the closed-loop ones (0: none)


# the per-identity limit (30 a minute): requests go round the people in turn, so a minute
# at r requests/s needs people >= r * 60 / 30. The quick run sends for 7 s in all (warm-up
# included): 2,000 people hold the limit up to about 8,000/s; the full run sends for about a
# minute: 10,000 people hold it up to about 5,000/s. Fewer people, and a fast server is
# refused with identity.rate_limited, which the benchmark counts as a wrong answer.
QUICK = Sizes(
    people=2_000, runs=2, seconds=3.0, connections=32, gallery=20_000, enrolments=400, rate=0
)
FULL = Sizes(
    people=10_000,
    runs=3,
    seconds=15.0,
    connections=32,
    gallery=1_000_000,
    enrolments=2_000,
    rate=1_500,
)


def emit(case: str, metric: str, value: float, unit: str, runs: int, **extra: object) -> None:
    line: dict[str, object] = {
        "bench": BENCH,
        "case": case,
        "metric": metric,
        "value": round(value, 1) if unit == "1/s" else round(value, 3),
        "unit": unit,
        "runs": runs,
        **extra,
    }
    print(json.dumps(line), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the platform under test -------------------------------------------------------------------


class Consent:
    def permits(self, *, individual: str, recipient: str, agreement_id: str, purpose: str) -> bool:
        return True


def settings_for(data_dir: Path, port: int) -> Settings:
    return Settings(data_dir=data_dir, public_url=f"http://127.0.0.1:{port}", port=port)


def build(settings: Settings, *, load_gallery: bool) -> tuple[Platform, IdentityBlock]:
    platform = bootstrap(settings, upgrade=False)
    db = platform.db
    directory = DirectoryService(
        uow=lambda: SqlDirectoryUnitOfWork(db),
        clock=platform.clock,
        scopes={*DIRECTORY_SCOPES, *IDENTITY_SCOPES},
    )
    platform = dataclasses.replace(platform, directory=directory)
    block = assemble(
        db=db,
        clock=platform.clock,
        signer=platform.signer,
        keys=directory,
        consent=Consent(),
        profile="example-a",
        keystore_file=None,
        data_dir=settings.data_dir,
        production=False,
        issuer=settings.public_url + "/identity",
        load_gallery=load_gallery,
    )
    return platform, block


def register(platform: Platform, name: str, *, scopes: Sequence[str], role: Role) -> Signer:
    directory = platform.directory
    cid = ClientId.parse(f"{platform.settings.instance}/{name}")
    directory.add_member(actor="bench", member_id=cid.member, name=name, roles=[role])
    directory.add_subsystem(actor="bench", client_id=cid)
    signer = Signer.generate("P-256")
    directory.add_key(actor="bench", client_id=cid, jwk=signer.public_jwk())
    for scope in scopes:
        directory.grant(actor="bench", client_id=cid, service=ServiceRef(None, scope))
    return signer


def token(platform: Platform, name: str, signer: Signer) -> str:
    client_id = f"{platform.settings.instance}/{name}"
    assertion = client_assertion(
        signer,
        client_id=client_id,
        audience=platform.settings.token_endpoint,
        now=platform.clock.now(),
    )
    return platform.tokens.issue(
        TokenRequest("client_credentials", JWT_BEARER, assertion, None)
    ).access_token


def demographics_of(fields: dict[str, Any]) -> dict[str, Any] | None:
    """A synthetic record as profile example-a demographics; None if it lacks a required field."""
    if not (fields.get("given_name") and fields.get("family_name") and fields.get("birth_date")):
        return None
    demographics = {
        "given_name": fields["given_name"],
        "family_name": fields["family_name"],
        "birth_date": fields["birth_date"],
        "sex": SEX.get(fields.get("sex") or "", "not_stated"),
        "address": {"region": fields.get("location") or "unknown"},
    }
    if fields.get("other_names"):
        demographics["other_names"] = fields["other_names"]
    return demographics


def packet(packet_id: str, demographics: dict[str, Any]) -> dict[str, Any]:
    return {
        "packet_id": packet_id,
        "demographics": demographics,
        "biometric_exception": {"reason": "benchmark packet without biometrics"},
        "officer": "bench",
        "centre": "bench",
    }


# --- authentication over HTTP ------------------------------------------------------------------


def serve(data_dir: Path, port: int, profile: Path | None) -> None:
    """The server process: the identity router in uvicorn over the prepared database.

    uvicorn parses HTTP with httptools and runs on uvloop when they are installed (its
    ``standard`` extra), as a production deployment would; the access log is off (metrics
    count requests); start-up's objects are frozen out of garbage collection, as in
    ``baobab serve``. ``profile`` writes a cProfile of the event-loop thread on exit."""
    import cProfile  # noqa: PLC0415 - only the server process needs these
    import gc  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    platform, block = build(settings_for(data_dir, port), load_gallery=False)
    profiler = cProfile.Profile() if profile else None

    async def finish() -> None:  # uvicorn ends the process on SIGTERM after the shutdown
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(str(profile))
        block.close()
        platform.close()

    app = identity_app(platform, block, on_shutdown=[finish])
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    config = uvicorn.Config(app, http=http, loop=loop, log_level="warning", access_log=False)
    # every worker binds the port itself; the kernel spreads connections among them
    # (proto IPPROTO_TCP, or asyncio leaves Nagle's algorithm on for the accepted connections)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", port))
    print(json.dumps({"listening": port, "http": http, "loop": loop}), flush=True)
    gc.freeze()  # as ``baobab serve`` does: what start-up built stays out of collections
    if profiler:
        profiler.enable()
    uvicorn.Server(config).run(sockets=[listener])


def identity_app(
    platform: Platform,
    block: IdentityBlock,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Any:
    """The identity router in an app of its own, as the server process runs it."""
    from baobab.identity.api import build_router  # noqa: PLC0415 - FastAPI only where served
    from baobab.infra.http.app import create_http_app  # noqa: PLC0415

    return create_http_app(
        title="bench",
        version="bench",
        routers=[
            build_router(
                enrolment=block.enrolment,
                identities=block.identities,
                authentication=block.authentication,
                profiles=block.profiles,
            )
        ],
        verifier=platform.verifier,
        check_ready=platform.check_ready,
        on_shutdown=on_shutdown,
    )


def bench_asgi(sizes: Sizes, root: Path, count: int) -> None:
    """The authentication route in process (no sockets): CPU per answer, ``runs`` times."""
    settings = settings_for(root / "asgi", free_port())
    requests, _ = _prepare(sizes, settings, 80)
    platform, block = build(settings, load_gallery=False)
    try:
        app = identity_app(platform, block)
        measured = [cpu_per_request(app, requests, count=count) for _ in range(sizes.runs)]
    finally:
        block.close()
        platform.close()
    for _, wrong in measured:
        check(not wrong, f"wrong answers: {wrong[:3]}")
    people = len(requests) // 10
    case = f"asgi,db=sqlite,concurrency=32,factor=demo,identities={people},partners={len(PARTNERS)}"
    cpu = statistics.median(us for us, _ in measured)
    emit(case, "server_cpu_us_per_auth", cpu, "us", sizes.runs, requests_per_run=count)


def cpu_seconds(pid: int, *, thread: int | None = None) -> float:
    """User plus system CPU time the process ``pid`` has used (Linux ``/proc``), or only its
    thread ``thread``."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Request = tuple[bytes, bool | None]  # the bytes to send; the answer expected (None: just 200)


@dataclass
class Load:
    latencies: list[float]
    answered: int
    wrong: list[str]
    next: int  # the next request to send: connections take them in turn, round the people


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    item: Request,
    load: Load,
    since: float,
) -> None:
    """Send one request, read its answer, check it; the latency counts from ``since``."""
    request, expected = item
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    at = head.lower().find(b"content-length:")
    length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
    body = await reader.readexactly(length)
    load.latencies.append(time.perf_counter() - since)
    load.answered += 1
    ok = head.startswith(b"HTTP/1.1 200")
    if ok and expected is not None:
        ok = (b'"authenticated":true' in body) is expected
    if not ok:
        load.wrong.append(head.split(b"\r\n", 1)[0].decode() + " " + body.decode()[:300])


async def _connection(port: int, requests: list[Request], deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    count = len(requests)
    try:
        while time.perf_counter() < deadline:
            item = requests[load.next % count]
            load.next += 1
            await _exchange(reader, writer, item, load, time.perf_counter())
    finally:
        writer.close()


async def _paced(port: int, requests: list[Request], sizes: Sizes, start: int) -> Load:
    """Open loop: request ``i`` is due at ``i / rate`` seconds, whatever came before, and its
    latency counts from then, so time spent waiting for a free connection (the server being
    behind) is in the figure instead of silently lowering the rate."""
    load = Load([], 0, [], start)
    rate = sizes.rate
    count, total = len(requests), int(sizes.seconds * rate)
    began = time.perf_counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while load.next - start < total:
                due = began + (load.next - start) / rate
                item = requests[load.next % count]
                load.next += 1
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                await _exchange(reader, writer, item, load, due)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(sizes.connections)))
    return load


async def _generate(
    port: int, requests: list[Request], seconds: float, connections: int, start: int = 0
) -> Load:
    load = Load([], 0, [], start)
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, requests, deadline, load) for _ in range(connections)))
    return load


def http_request(port: int, access_token: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST /identity/authenticate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {access_token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


@dataclass
class Measured:
    answered: int  # every authentication answered, warm-up included
    rates: list[float]
    p50s: list[float]
    p99s: list[float]
    floors: list[float]
    server_us: list[float]  # server CPU per authentication (user + system), microseconds
    loop_us: list[float]  # of which the servers' main threads (the event loops)
    client_us: list[float]  # load generator CPU per authentication
    health_us: list[float]  # server CPU per /health request: the HTTP stack's own cost
    stack: str = ""  # the server's HTTP parser and event loop
    paced: tuple[float, float, float] | None = None  # open loop: answers/s, p50 and p99 (ms)


def _prepare(sizes: Sizes, settings: Settings, port: int) -> tuple[list[Request], int]:
    """Enrol the people and build the requests; returns them and the audit entries so far."""
    platform, block = build(settings, load_gallery=False)
    try:
        migrate.upgrade(platform.db, [*BLOCKS, "identity"])
        agency = register(
            platform, "GOV/NRB/enrolment", scopes=["identity:enrol"], role=Role.ENROLMENT_AGENCY
        )
        # several relying parties, each under its own limit (100,000 a minute): one alone
        # would be refused beyond about 1,660/s sustained for a minute
        access_tokens = []
        for bank in PARTNERS:
            name = f"COM/{bank}/kyc"
            signer = register(platform, name, scopes=["identity:auth"], role=Role.RELYING_PARTY)
            access_tokens.append(token(platform, name, signer))
        caller = f"{settings.instance}/GOV/NRB/enrolment"
        requests: list[Request] = []
        population = generate_population(sizes.people * 2, seed=7, duplicate_share=0.0)
        for number, record in enumerate(population.records):
            demographics = demographics_of(dataclasses.asdict(record))
            if demographics is None or len(requests) >= sizes.people * 10:
                continue
            signed = agency.encode(packet(f"auth-{number:08d}", demographics))
            enrolment = block.enrolment.submit(caller=caller, signed_packet=signed)
            if enrolment.uin is None:
                continue  # a look-alike of someone enrolled before: not in the request set
            year = demographics["birth_date"][:4]
            claim = {"given_name": demographics["given_name"], "birth_date": year}
            wrong = {**claim, "birth_date": str(int(year) - 1)}
            for demo, expected in [(claim, True)] * 9 + [(wrong, False)]:
                body: dict[str, Any] = {
                    "individual_id": enrolment.uin,
                    "transaction_id": f"t{number}",
                    "demographics": demo,
                }
                partner_token = access_tokens[len(requests) % len(access_tokens)]
                requests.append((http_request(port, partner_token, body), expected))
        with platform.db.transaction() as connection:
            before = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
        # person by person in turn (every tenth round a wrong claim), so that each person's
        # requests are spread over the run and stay under the per-identity limit
        interleaved = [requests[i + j] for j in range(10) for i in range(0, len(requests), 10)]
        return interleaved, int(before)
    finally:
        block.close()
        platform.close()


def _drive(
    sizes: Sizes, port: int, requests: list[Request], servers: list[subprocess.Popen[bytes]]
) -> Measured:
    """Warm up, then per run: the /health baseline, then authentications."""
    health: list[Request] = [
        (f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(), None)
    ]
    measured_stack = _wait_for(port, servers)
    warm = asyncio.run(_generate(port, requests, 1.0, sizes.connections))
    check(not warm.wrong, f"wrong answers: {warm.wrong[:3]}")
    measured = Measured(warm.answered, [], [], [], [], [], [], [], [], measured_stack)
    position = warm.next
    for _ in range(sizes.runs):
        started, server_cpu = time.perf_counter(), _cpu(servers)
        base = asyncio.run(_generate(port, health, sizes.seconds / 2, sizes.connections))
        measured.floors.append(base.answered / (time.perf_counter() - started))
        measured.health_us.append((_cpu(servers) - server_cpu) / base.answered * 1e6)
        check(not base.wrong, f"health checks failed: {base.wrong[:3]}")
        server_cpu, client_cpu = _cpu(servers), time.process_time()
        loop_cpu = _cpu(servers, loops=True)
        started = time.perf_counter()
        load = asyncio.run(
            _generate(port, requests, sizes.seconds, sizes.connections, start=position)
        )
        elapsed = time.perf_counter() - started
        measured.server_us.append((_cpu(servers) - server_cpu) / load.answered * 1e6)
        measured.loop_us.append((_cpu(servers, loops=True) - loop_cpu) / load.answered * 1e6)
        measured.client_us.append((time.process_time() - client_cpu) / load.answered * 1e6)
        position = load.next
        check(not load.wrong, f"wrong answers: {load.wrong[:3]}")
        measured.rates.append(load.answered / elapsed)
        ordered = sorted(load.latencies)
        measured.p50s.append(ordered[len(ordered) // 2] * 1000)
        measured.p99s.append(ordered[int(len(ordered) * 0.99)] * 1000)
        measured.answered += load.answered
    if sizes.rate:
        started = time.perf_counter()
        load = asyncio.run(_paced(port, requests, sizes, position))
        elapsed = time.perf_counter() - started
        check(not load.wrong, f"wrong answers: {load.wrong[:3]}")
        ordered = sorted(load.latencies)
        measured.paced = (
            load.answered / elapsed,
            ordered[len(ordered) // 2] * 1000,
            ordered[int(len(ordered) * 0.99)] * 1000,
        )
        measured.answered += load.answered
    return measured


def _cpu(servers: list[subprocess.Popen[bytes]], *, loops: bool = False) -> float:
    """The servers' CPU seconds; ``loops``: only their main threads, which run the event loop
    (the rest is mostly the audit journal's writer)."""
    return sum(cpu_seconds(s.pid, thread=s.pid if loops else None) for s in servers)


def _check_audit(settings: Settings, *, before: int, answered: int) -> None:
    """The chain verifies and holds exactly one authentication entry per answer."""
    platform, block = build(settings, load_gallery=False)
    try:
        entries, broken = verify_audit(platform.db)
        check(broken is None, f"the audit chain is broken: {broken}")
        with platform.db.transaction() as connection:
            query = select(func.count()).where(audit_log.c.action == "identity.authentication")
            authentications = connection.execute(query).scalar_one()
        check(authentications == answered, f"{answered} answers, {authentications} audit entries")
        check(entries == before + answered, f"{entries} entries, expected {before + answered}")
    finally:
        block.close()
        platform.close()


def bench_auth(sizes: Sizes, root: Path, profile: Path | None = None, workers: int = 1) -> None:
    port = free_port()
    settings = settings_for(root / "auth", port)
    requests, before = _prepare(sizes, settings, port)
    command = [sys.executable, "-m", "bench.identity_auth", "--serve"]
    command += [str(settings.data_dir), str(port)]
    if profile:
        command += ["--profile", str(profile)]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    servers = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE) for _ in range(workers)
    ]
    try:
        measured = _drive(sizes, port, requests, servers)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    _check_audit(settings, before=before, answered=measured.answered)
    people = len(requests) // 10
    case = (
        f"http,{measured.stack},db=sqlite,workers={workers},connections={sizes.connections},"
        f"factor=demo,identities={people},partners={len(PARTNERS)}"
    )
    runs = sizes.runs
    emit(case, "auth_per_s", statistics.median(measured.rates), "1/s", runs, target=1500)
    emit(case, "p50_ms", statistics.median(measured.p50s), "ms", runs)
    emit(case, "p99_ms", statistics.median(measured.p99s), "ms", runs, target=50)
    emit("http,route=/health", "requests_per_s", statistics.median(measured.floors), "1/s", runs)
    ratios = [r / f for r, f in zip(measured.rates, measured.floors, strict=True)]
    emit(case, "ratio_vs_health", statistics.median(ratios), "ratio", runs)
    emit(case, "server_cpu_us_per_auth", statistics.median(measured.server_us), "us", runs)
    loop = statistics.median(measured.loop_us)
    emit(case, "event_loop_cpu_us_per_auth", loop, "us", runs)
    emit(case, "client_cpu_us_per_auth", statistics.median(measured.client_us), "us", runs)
    health = statistics.median(measured.health_us)
    emit("http,route=/health", "server_cpu_us_per_request", health, "us", runs)
    if measured.paced:
        answered, p50, p99 = measured.paced
        paced = f"{case},arrivals=constant,rate={sizes.rate:g}"
        emit(paced, "auth_per_s", answered, "1/s", 1)
        emit(paced, "p50_ms", p50, "ms", 1)
        emit(paced, "p99_ms", p99, "ms", 1, target=50)


def _wait_for(port: int, servers: list[subprocess.Popen[bytes]]) -> str:
    """Every worker has bound the port (each says so on its standard output); returns the
    HTTP parser and event loop they run on."""
    said: dict[str, Any] = {}
    for server in servers:
        assert server.stdout is not None
        line = server.stdout.readline()
        check(server.poll() is None and b"listening" in line, "a server process did not start")
        said = json.loads(line)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return f"http={said['http']},loop={said['loop']}"
        except OSError:
            time.sleep(0.2)
    raise BenchFailure("the server did not start within 60 s")


# --- enrolment with deduplication --------------------------------------------------------------


def _fill_gallery(
    block: IdentityBlock, size: int
) -> tuple[list[tuple[str, dict[str, Any]]], float]:
    """A synthetic gallery in the matcher; returns its people and the seconds it took."""
    profile = block.profiles.active
    gallery = generate_population(size, seed=11, duplicate_share=0.0)
    started = time.perf_counter()
    kept: list[tuple[str, dict[str, Any]]] = []
    for record in gallery.records:
        demographics = demographics_of(dataclasses.asdict(record))
        if demographics is None:
            continue
        block.finder.add(record.record_id, profile.matching_view(demographics))
        kept.append((record.record_id, demographics))
    return kept, time.perf_counter() - started


def bench_enrolment(sizes: Sizes, root: Path, submitters: int = 4) -> None:
    settings = settings_for(root / "enrol", free_port())
    platform, block = build(settings, load_gallery=False)
    migrate.upgrade(platform.db, [*BLOCKS, "identity"])
    try:
        agency = register(
            platform, "GOV/NRB/enrolment", scopes=["identity:enrol"], role=Role.ENROLMENT_AGENCY
        )
        caller = f"{settings.instance}/GOV/NRB/enrolment"
        kept, built = _fill_gallery(block, sizes.gallery)
        newcomers = [
            d
            for d in (
                demographics_of(dataclasses.asdict(r))
                for r in generate_population(sizes.enrolments, seed=12, duplicate_share=0.0).records
            )
            if d is not None
        ][: sizes.enrolments // 2]
        rng = random.Random(5)
        returning = rng.sample(kept, sizes.enrolments // 2)
        work: list[tuple[str, dict[str, Any], str | None]] = [
            (f"new-{i:08d}", d, None) for i, d in enumerate(newcomers)
        ] + [(f"again-{i:08d}", d, rid) for i, (rid, d) in enumerate(returning)]
        rng.shuffle(work)
        signed = [(agency.encode(packet(pid, d)), rid) for pid, d, rid in work]
        latencies: list[float] = []
        outcomes: dict[str, int] = {}
        wrong: list[str] = []

        def submit(item: tuple[str, str | None]) -> None:
            jws, returning_id = item
            t0 = time.perf_counter()
            enrolment = block.enrolment.submit(caller=caller, signed_packet=jws)
            latencies.append(time.perf_counter() - t0)
            outcomes[enrolment.state.value] = outcomes.get(enrolment.state.value, 0) + 1
            if returning_id is not None and (
                enrolment.state is not PacketState.DUPLICATE
                or enrolment.duplicate_of != returning_id
            ):
                wrong.append(f"a re-enrolment of {returning_id} came out {enrolment.state}")

        cpu = time.process_time()
        started = time.perf_counter()
        with ThreadPoolExecutor(submitters) as pool:  # agencies sending packets side by side
            list(pool.map(submit, signed))
        elapsed = time.perf_counter() - started
        cpu_us = (time.process_time() - cpu) / len(signed) * 1e6
        check(not wrong, "; ".join(wrong[:3]))
        check(sum(outcomes.values()) == len(signed), "a packet got no outcome")
        ordered = sorted(latencies)
        case = (
            f"in_process,db=sqlite,gallery={len(kept)},packets={len(signed)},"
            f"submitters={submitters},half_duplicates"
        )
        emit(
            case,
            "enrolments_per_s",
            len(signed) / elapsed,
            "1/s",
            1,
            target=200,
            gallery_build_s=round(built, 1),
            outcomes=outcomes,
        )
        emit(case, "p50_ms", ordered[len(ordered) // 2] * 1000, "ms", 1)
        emit(case, "p99_ms", ordered[int(len(ordered) * 0.99)] * 1000, "ms", 1)
        emit(case, "cpu_us_per_enrolment", cpu_us, "us", 1)
    finally:
        block.close()
        platform.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--gallery", type=int, help="gallery size for the enrolment case")
    parser.add_argument("--skip-enrolment", action="store_true", help="only authentication")
    parser.add_argument("--skip-auth", action="store_true", help="only enrolment")
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the auth server here")
    parser.add_argument("--people", type=int, help="identities enrolled for authentication")
    parser.add_argument("--workers", type=int, default=1, help="authentication server processes")
    parser.add_argument("--submitters", type=int, default=4, help="concurrent enrolment threads")
    parser.add_argument("--connections", type=int, help="keep-alive connections of the load")
    parser.add_argument(
        "--rate", type=float, help="requests/s of the open-loop authentication run (0: none)"
    )
    parser.add_argument(
        "--asgi", type=int, metavar="N", help="only the in-process case: N requests per run"
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.profile)
        return 0
    sizes = QUICK if args.quick else FULL
    if args.gallery:
        sizes = dataclasses.replace(sizes, gallery=args.gallery)
    if args.people:
        sizes = dataclasses.replace(sizes, people=args.people)
    if args.connections:
        sizes = dataclasses.replace(sizes, connections=args.connections)
    if args.rate is not None:
        sizes = dataclasses.replace(sizes, rate=args.rate)
    with tempfile.TemporaryDirectory(prefix="baobab-bench-identity-") as tmp:
        try:
            if args.asgi:
                bench_asgi(sizes, Path(tmp), args.asgi)
                return 0
            if not args.skip_auth:
                bench_auth(sizes, Path(tmp), args.profile, args.workers)
            if not args.skip_enrolment:
                bench_enrolment(sizes, Path(tmp), args.submitters)
        except BenchFailure as exc:
            print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
