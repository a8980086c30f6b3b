"""Benchmark: a provider called directly and through the exchange gateway, over real HTTP.

Run from the repository root: ``.venv/bin/python -m bench.exchange_gateway [--quick]``.

Three processes on this machine: the provider (a bare ASGI echo app under uvicorn), the gateway
(the exchange's router under uvicorn: token check, X-Road-Client check, access right, request
signature, forwarding over pooled HTTP/1.1, response signature, group-committed hash-chained
message log) and the load generator (raw asyncio HTTP/1.1 keep-alive connections, in this
process). The same echo is called directly and through the gateway with 1 KB and 100 KB bodies
(POST, the answer is the body back), in the same minute. The instance key is P-256 (the
development default) unless ``--key-type Ed25519``; uvicorn's parser (``--http``) is the same
for provider and gateway.

Figures: ``requests_per_s`` under load (``concurrency`` connections) for each case;
``server_cpu_us_per_request``: CPU time (user + system, from ``/proc``) the answering server
process spent per request during that load — the gateway's own cost, without its provider, and
the figure that survives a busy machine best; ``added_p50_ms``/``added_p99_ms``: the gateway's
latency minus the direct latency, measured with one connection (no queueing); and
``ratio_vs_direct`` (gateway over direct throughput). ``--profile FILE`` writes the gateway
process's cProfile statistics.

The result is checked: every gateway answer is 200 with the body sent, carries X-Road-Request-Id;
the message log holds exactly one ``ok`` entry per gateway call and its chain and checkpoints
verify. Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import json
import multiprocessing
import os
import signal
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

from baobab.asgi import create_app
from baobab.bootstrap import Platform, bootstrap
from baobab.demo.stack import free_port
from baobab.directory import (
    JWT_BEARER,
    ClientId,
    Role,
    ServiceRef,
    TokenRequest,
    client_assertion,
)
from baobab.infra.settings import Settings
from baobab.kernel.signing import Signer
from bench.databases import postgres_database

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


def serve_provider(port: int, http: str) -> None:
    uvicorn.run(
        echo_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=http
    )


# --- the gateway process ----------------------------------------------------------------------


def settings_of(data_dir: str, database_url: str | None, port: int) -> Settings:
    return Settings(
        data_dir=Path(data_dir),
        signing_key_file=Path(data_dir) / "instance.jwk",
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        access_token_ttl_seconds=3600,
    )


@dataclass(frozen=True)
class GatewayProcess:
    """How to start one gateway replica (picklable: it crosses into a spawned process)."""

    data_dir: str
    database_url: str | None
    port: int
    public_port: int  # the first replica's: the URL tokens are issued for
    http: str
    profile: str | None = None


def serve_gateway(spec: GatewayProcess) -> None:
    if spec.profile:  # the whole server under cProfile; the stats are written when it stops
        # uvicorn re-raises SIGTERM after its shutdown: make that an exit we can finish
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        profiler = cProfile.Profile()
        try:
            profiler.runcall(_serve_gateway, spec)
        finally:
            profiler.dump_stats(
                f"{spec.profile}.{spec.port}" if spec.port != spec.public_port else spec.profile
            )
    else:
        _serve_gateway(spec)


def _serve_gateway(spec: GatewayProcess) -> None:
    """``baobab serve`` with the exchange's block: the composition root, the app factory and its
    lifespan (the checkpoint and push workers run as they would in production)."""
    settings = settings_of(spec.data_dir, spec.database_url, spec.public_port)
    platform = bootstrap(settings, upgrade=False)
    app = create_app(settings, platform=platform, blocks=["exchange"])
    uvicorn.run(
        app, host="127.0.0.1", port=spec.port, log_level="warning", access_log=False, http=spec.http
    )


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
    ports: list[int],
    path: str,
    body: bytes,
    extra: dict[str, str],
    *,
    connections: int,
    seconds: float,
) -> Outcome:
    """``connections`` keep-alive connections, each sending one request after the other; they
    are spread over ``ports`` (replicas) in turn."""
    request = build_request(f"127.0.0.1:{ports[0]}", path, body, extra)
    latencies: list[float] = []
    errors: list[str] = []
    ids = 0
    deadline = time.perf_counter() + seconds

    async def worker(port: int) -> None:
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

    await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(connections)))
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
    platform = bootstrap(settings, upgrade=True)
    directory, registry = platform.directory, platform.exchange.registry
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
    assertion = client_assertion(
        signer, client_id=str(consumer), audience=settings.token_endpoint, now=platform.clock.now()
    )
    issued = platform.tokens.issue(TokenRequest("client_credentials", JWT_BEARER, assertion, None))
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
    if args.database_url is None:
        return run_on(args, None)
    with postgres_database(args.database_url) as url:  # a fresh database, dropped afterwards
        return run_on(args, url)


def run_on(args: argparse.Namespace, database_url: str | None) -> int:
    data_dir = tempfile.mkdtemp(prefix="bench-exchange-")
    # the instance key, of the type chosen (``--key-type``)
    key = Path(data_dir) / "instance.jwk"
    key.write_text(json.dumps(Signer.generate(args.key_type).private_jwk()))
    key.chmod(0o600)
    provider_port = free_port()
    gateway_ports = [free_port() for _ in range(args.replicas)]
    token, platform = prepare(data_dir, database_url, gateway_ports[0], provider_port)
    context = multiprocessing.get_context("spawn")
    servers = [
        context.Process(target=serve_provider, args=(provider_port, args.http), daemon=True),
        *(
            context.Process(
                target=serve_gateway,
                args=(
                    GatewayProcess(
                        data_dir, database_url, port, gateway_ports[0], args.http, args.profile
                    ),
                ),
                daemon=True,
            )
            for port in gateway_ports
        ),
    ]
    for server in servers:
        server.start()
    try:
        for port, server in zip([provider_port, *gateway_ports], servers, strict=True):
            wait_for(port, server)
        pids = {
            "direct": [servers[0].pid or 0],
            "gateway": [server.pid or 0 for server in servers[1:]],
        }
        return measure(
            args,
            token=token,
            platform=platform,
            ports={"direct": [provider_port], "gateway": gateway_ports},
            pids=pids,
        )
    finally:
        for server in servers:
            server.terminate()
            server.join(timeout=10)
        platform.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (Linux ``/proc``; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(
    args: argparse.Namespace,
    *,
    token: str,
    platform: Platform,
    ports: dict[str, list[int]],
    pids: dict[str, list[int]],
) -> int:
    instance = platform.settings.instance
    consumer = f"{instance}/{CONSUMER}"
    gateway_path = f"/exchange/r1/{instance}/{PROVIDER}/echo/echo"
    gateway_headers = {"Authorization": f"Bearer {token}", "X-Road-Client": consumer}
    failures: list[str] = []
    sent_through_gateway = 0
    db = (
        "postgresql" if args.database_url else "sqlite"
    ) + f",key={args.key_type},http={args.http}"
    db += ",loop=" + ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    if args.replicas > 1:
        db += f",replicas={args.replicas}"
    for label, size in SIZES.items():
        body = os.urandom(size)
        targets = {
            "direct": (ports["direct"], "/echo", {}),
            "gateway": (ports["gateway"], gateway_path, gateway_headers),
        }
        rps: dict[str, list[float]] = {"direct": [], "gateway": []}
        cpu: dict[str, list[float]] = {"direct": [], "gateway": []}
        single: dict[str, list[float]] = {"direct": [], "gateway": []}
        for _ in range(args.runs):
            for name, (port, path, extra) in targets.items():
                warm = asyncio.run(load(port, path, body, extra, connections=4, seconds=0.5))
                cpu_before = cpu_seconds(pids[name])
                busy = asyncio.run(
                    load(
                        port, path, body, extra, connections=args.concurrency, seconds=args.seconds
                    )
                )
                spent = cpu_seconds(pids[name]) - cpu_before
                cpu[name].append(spent / max(1, len(busy.latencies)) * 1e6)
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
            # CPU of the server process answering (the gateway alone, without its provider)
            median_cpu = statistics.median(cpu[name])
            emit(f"{name},{case}", "server_cpu_us_per_request", median_cpu, "us", args.runs)
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
    log = platform.exchange.log
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
        "--replicas", type=int, default=1, help="gateway processes (replicas over one database)"
    )
    # P-256 is the development default; on this machine (OpenSSL 3) an Ed25519 signature costs
    # the same ~35 us, so the key type barely moves the figures (measure with --key-type)
    parser.add_argument("--key-type", choices=("Ed25519", "P-256"), default="P-256")
    parser.add_argument(
        "--http",
        choices=("h11", "httptools"),
        default="httptools" if importlib.util.find_spec("httptools") else "h11",
        help="uvicorn's HTTP parser for provider and gateway (default: the fastest installed)",
    )
    parser.add_argument("--profile", default=None, help="write the gateway's cProfile stats here")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server URL (a fresh database is made there and dropped); default SQLite",
    )
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.runs = args.runs or (1 if args.quick else 3)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
