"""Benchmark: a provider called directly and through the exchange gateway, over real HTTP.

Run from the repository root: ``.venv/bin/python -m bench.exchange_gateway [--quick]``.

Three processes on this machine: the provider (a bare ASGI echo app under uvicorn), the gateway
(the exchange's router under uvicorn: token check, X-Road-Client check, access right, request
signature, forwarding with httpx, response signature, group-committed hash-chained message log)
and the load generator (raw asyncio HTTP/1.1 keep-alive connections, in this process). The same
echo is called directly and through the gateway with 1 KB and 100 KB bodies (POST, the answer is
the body back), in the same minute.

Figures: ``requests_per_s`` under load (``concurrency`` connections) for each case;
``added_p50_ms``/``added_p99_ms``: the gateway's latency minus the direct latency, measured with
one connection (no queueing), and ``ratio_vs_direct`` (gateway over direct throughput).

The result is checked: every gateway answer is 200 with the body sent, carries X-Road-Request-Id;
the message log holds exactly one ``ok`` entry per gateway call and its chain and checkpoints
verify. Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import text

from baobab.bootstrap import Platform, bootstrap
from baobab.demo.stack import free_port
from baobab.directory import (
    DIRECTORY_SCOPES,
    JWT_BEARER,
    ClientId,
    DirectoryService,
    Role,
    ServiceRef,
    TokenRequest,
    TokenService,
    client_assertion,
)
from baobab.directory.adapters.sql import SqlDirectoryUnitOfWork
from baobab.exchange import (
    EXCHANGE_SCOPES,
    Discovery,
    Gateway,
    GatewayLimits,
    MessageLog,
    OperationalMonitor,
    ServiceCatalog,
    ServiceRegistry,
)
from baobab.exchange import api as exchange_api
from baobab.exchange.adapters.h11_client import H11ProviderClient
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.ports import ConsentAnswer, ConsentQuery
from baobab.exchange.pubsub import PubSub
from baobab.infra import migrate
from baobab.infra.http.app import create_http_app
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.signing import Signer

CONSUMER = "GOV/MOSA/benefits"
PROVIDER = "GOV/CRVS/registry"
SIZES = {"1KB": 1024, "100KB": 100 * 1024}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# --- the provider: a bare ASGI echo -----------------------------------------------------------


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers every POST with its body (a provider that costs as little as possible)."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_provider(port: int) -> None:
    uvicorn.run(echo_app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the gateway process ----------------------------------------------------------------------


class NoConsent:
    """The benchmark's service carries no personal data; the check is never asked."""

    def check(self, query: ConsentQuery) -> ConsentAnswer:
        return ConsentAnswer(False, "not_expected")


def settings_of(data_dir: str, database_url: str | None, port: int) -> Settings:
    return Settings(
        data_dir=Path(data_dir),
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        access_token_ttl_seconds=3600,
    )


def wire(
    platform: Platform, monitor: OperationalMonitor | None = None
) -> tuple[DirectoryService, ServiceRegistry, MessageLog, Gateway]:
    """The exchange over the platform, as bootstrap.py will wire it."""
    db = platform.db
    directory = DirectoryService(
        uow=lambda: SqlDirectoryUnitOfWork(db),
        clock=platform.clock,
        scopes={*DIRECTORY_SCOPES, *EXCHANGE_SCOPES},
    )
    registry = ServiceRegistry(uow=lambda: SqlExchangeUnitOfWork(db), clock=platform.clock)
    log = MessageLog(
        uow=lambda: SqlExchangeUnitOfWork(db), signer=platform.signer, clock=platform.clock
    )
    gateway = Gateway(
        catalog=ServiceCatalog(registry),
        access=directory,
        keys=directory,
        provider=H11ProviderClient(),
        log=log,
        consent=NoConsent(),
        signer=platform.signer,
        clock=platform.clock,
        limits=GatewayLimits(max_request_body=1024 * 1024, max_response_body=1024 * 1024),
        observers=[monitor] if monitor else [],
    )
    return directory, registry, log, gateway


def serve_gateway(data_dir: str, database_url: str | None, port: int) -> None:
    platform = bootstrap(settings_of(data_dir, database_url, port), upgrade=False)
    monitor = OperationalMonitor()
    directory, registry, log, gateway = wire(platform, monitor)
    router = exchange_api.build_router(
        registry=registry,
        gateway=gateway,
        log=log,
        keys=directory,
        discovery=Discovery(registry=registry, directory=directory),
        monitor=monitor,
        pubsub=PubSub(
            uow=lambda: SqlExchangeUnitOfWork(platform.db), access=directory, clock=platform.clock
        ),
    )
    app = create_http_app(
        title="bench",
        version="bench",
        routers=[router],
        verifier=platform.verifier,
        check_ready=lambda: None,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the load generator: raw asyncio HTTP/1.1 -------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float]
    errors: list[str]
    message_ids: int


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, body: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    answer = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, answer


def build_request(host: str, path: str, body: bytes, extra: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/octet-stream",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def load(
    port: int, path: str, body: bytes, extra: dict[str, str], *, connections: int, seconds: float
) -> Outcome:
    """``connections`` keep-alive connections, each sending one request after the other."""
    request = build_request(f"127.0.0.1:{port}", path, body, extra)
    latencies: list[float] = []
    errors: list[str] = []
    ids = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal ids
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status, headers, answer = await _one(reader, writer, request, body)
                latencies.append(time.perf_counter() - started)
                if status != 200 or answer != body:
                    errors.append(f"{status}: {answer[:200]!r}")
                if b"x-road-request-id" in headers:
                    ids += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return Outcome(latencies, errors, ids)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- setup, run, check ------------------------------------------------------------------------


def emit(case: str, metric: str, value: float, unit: str, runs: int) -> None:
    line = {
        "bench": "exchange_gateway",
        "case": case,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "runs": runs,
    }
    print(json.dumps(line), flush=True)


def prepare(
    data_dir: str, database_url: str | None, gateway_port: int, provider_port: int
) -> tuple[str, Platform]:
    """Register consumer and provider, the service and the right; return the consumer's token."""
    settings = settings_of(data_dir, database_url, gateway_port)
    platform = bootstrap(settings, upgrade=False)
    migrate.upgrade(platform.db, dict.fromkeys([*BLOCKS, "exchange"]))
    directory, registry, _, _ = wire(platform)
    instance = settings.instance
    consumer, provider = (ClientId.parse(f"{instance}/{c}") for c in (CONSUMER, PROVIDER))
    signer = Signer.generate()
    for cid, role in ((consumer, Role.MINISTRY), (provider, Role.REGISTRY_OWNER)):
        directory.add_member(
            actor="bench", member_id=cid.member, name=str(cid.member), roles=[role]
        )
        directory.add_subsystem(actor="bench", client_id=cid)
    directory.add_key(actor="bench", client_id=consumer, jwk=signer.public_jwk())
    directory.grant(actor="bench", client_id=consumer, service=ServiceRef(None, "exchange:call"))
    registry.register(
        actor="bench",
        provider=provider,
        code="echo",
        version="1",
        base_url=f"http://127.0.0.1:{provider_port}",
    )
    directory.grant(actor="bench", client_id=consumer, service=ServiceRef(provider, "echo"))
    tokens = TokenService(
        uow=lambda: SqlDirectoryUnitOfWork(platform.db),
        clock=platform.clock,
        signer=platform.signer,
        policy=platform.token_policy,
    )
    assertion = client_assertion(
        signer, client_id=str(consumer), audience=settings.token_endpoint, now=platform.clock.now()
    )
    issued = tokens.issue(TokenRequest("client_credentials", JWT_BEARER, assertion, None))
    return issued.access_token, platform


def wait_for(port: int, process: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise SystemExit(f"a server on port {port} died on start")
        try:
            asyncio.run(asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1))
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def run(args: argparse.Namespace) -> int:
    data_dir = tempfile.mkdtemp(prefix="bench-exchange-")
    provider_port, gateway_port = free_port(), free_port()
    token, platform = prepare(data_dir, args.database_url, gateway_port, provider_port)
    context = multiprocessing.get_context("spawn")
    servers = [
        context.Process(target=serve_provider, args=(provider_port,), daemon=True),
        context.Process(
            target=serve_gateway, args=(data_dir, args.database_url, gateway_port), daemon=True
        ),
    ]
    for server in servers:
        server.start()
    try:
        wait_for(provider_port, servers[0])
        wait_for(gateway_port, servers[1])
        return measure(args, token, platform, provider_port, gateway_port)
    finally:
        for server in servers:
            server.terminate()
            server.join(timeout=10)
        platform.close()


def measure(
    args: argparse.Namespace, token: str, platform: Platform, provider_port: int, gateway_port: int
) -> int:
    instance = platform.settings.instance
    consumer = f"{instance}/{CONSUMER}"
    gateway_path = f"/exchange/r1/{instance}/{PROVIDER}/echo/echo"
    gateway_headers = {"Authorization": f"Bearer {token}", "X-Road-Client": consumer}
    failures: list[str] = []
    sent_through_gateway = 0
    db = "postgresql" if args.database_url else "sqlite"
    for label, size in SIZES.items():
        body = os.urandom(size)
        targets = {
            "direct": (provider_port, "/echo", {}),
            "gateway": (gateway_port, gateway_path, gateway_headers),
        }
        rps: dict[str, list[float]] = {"direct": [], "gateway": []}
        single: dict[str, list[float]] = {"direct": [], "gateway": []}
        for _ in range(args.runs):
            for name, (port, path, extra) in targets.items():
                warm = asyncio.run(load(port, path, body, extra, connections=4, seconds=0.5))
                busy = asyncio.run(
                    load(
                        port, path, body, extra, connections=args.concurrency, seconds=args.seconds
                    )
                )
                alone = asyncio.run(
                    load(port, path, body, extra, connections=1, seconds=args.seconds / 2)
                )
                for outcome in (warm, busy, alone):
                    failures.extend(f"{name} {label}: {e}" for e in outcome.errors[:3])
                    if name == "gateway":
                        sent_through_gateway += len(outcome.latencies)
                        if outcome.message_ids != len(outcome.latencies):
                            failures.append("a gateway answer lacks X-Road-Request-Id")
                rps[name].append(len(busy.latencies) / args.seconds)
                single[name].extend(alone.latencies)
        case = f"size={label},concurrency={args.concurrency},db={db}"
        for name in targets:
            emit(f"{name},{case}", "requests_per_s", statistics.median(rps[name]), "1/s", args.runs)
        added = {
            q: (percentile(single["gateway"], q) - percentile(single["direct"], q)) * 1000
            for q in (0.5, 0.99)
        }
        one = f"size={label},concurrency=1,db={db}"
        emit(one, "added_p50_ms", added[0.5], "ms", args.runs)
        emit(one, "added_p99_ms", added[0.99], "ms", args.runs)
        emit(f"direct,{one}", "p50_ms", percentile(single["direct"], 0.5) * 1000, "ms", args.runs)
        emit(f"gateway,{one}", "p50_ms", percentile(single["gateway"], 0.5) * 1000, "ms", args.runs)
        ratio = statistics.median(rps["gateway"]) / statistics.median(rps["direct"])
        emit(case, "ratio_vs_direct", ratio, "ratio", args.runs)
    failures.extend(check_log(platform, sent_through_gateway))
    for failure in failures[:20]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def check_log(platform: Platform, sent: int) -> list[str]:
    """Every gateway call logged once as ``ok``; the chain and checkpoints verify."""
    db = platform.db
    log = MessageLog(
        uow=lambda: SqlExchangeUnitOfWork(db), signer=platform.signer, clock=platform.clock
    )
    log.checkpoint()
    verdict = log.verify()
    with db.transaction() as connection:
        ok = connection.execute(
            text("SELECT count(*) FROM exchange_log WHERE outcome = 'ok'")
        ).scalar_one()
    problems = [f"message log: {p}" for p in verdict.problems]
    if ok != sent or verdict.entries != sent:
        problems.append(f"{sent} messages sent, {ok} logged ok, {verdict.entries} entries")
    emit("gateway", "messages_logged", float(ok), "count", 1)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exchange_gateway", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short run (under a minute)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (an empty database); default: SQLite in a temp dir",
    )
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.runs = args.runs or (1 if args.quick else 3)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
