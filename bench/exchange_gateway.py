"""Benchmark: providers called directly and through the exchange gateway, over real HTTP.

Run from the repository root: ``.venv/bin/python -m bench.exchange_gateway [--quick]``.

Processes on this machine: the providers, the gateway (the exchange's router under uvicorn:
token check, X-Road-Client check, access right, request signature, forwarding over pooled
HTTP/1.1, response signature, group-committed hash-chained message log) and the load generator
(raw asyncio HTTP/1.1 keep-alive connections, in this process). Each provider case sends the same
request directly and through the gateway, in the same minute (``--providers``):

- ``echo``: a bare ASGI echo app under uvicorn, 1 KB and 100 KB bodies (POST, the body back) —
  the cheapest provider there is, so the ratio is the worst case;
- ``registry``: Baobab's registries API on its own database, set up with the ``baobab`` command
  and asked for one household by id (``POST .../read``) — a registry answering a ministry, the
  exchange's own scenario (see :mod:`bench.exchange_provider`).

The instance key is P-256 (the development default) unless ``--key-type Ed25519``; uvicorn's
parser (``--http``) is the same for providers and gateway.

Figures: ``requests_per_s`` under load (``concurrency`` connections) for each case;
``server_cpu_us_per_request``: CPU time (user + system, from ``/proc``) the answering server
process spent per request during that load — the gateway's own cost, without its provider, and
the figure that survives a busy machine best; ``provider_cpu_us_per_request``: the provider's
CPU per message while called through the gateway; ``added_p50_ms``/``added_p99_ms``: the
gateway's latency minus the direct latency, measured with one connection (no queueing); and
``ratio_vs_direct`` (gateway over direct throughput) per provider case. ``--profile FILE`` writes
the gateway process's cProfile statistics.

The result is checked: every answer is 200 with the expected body (the body sent; the record one
direct read returned), every gateway answer carries X-Road-Request-Id; the message log holds
exactly one ``ok`` entry per gateway call and its chain and checkpoints verify. Any failure exits
non-zero.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import multiprocessing
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
from bench.exchange_load import (
    Figures,
    Target,
    percentile,
    run_once,
    wait_for,
)
from bench.exchange_provider import (
    BASE_PATH,
    Case,
    RegistryProvider,
    cases,
    expected_answer,
    serve_echo,
    serve_registry,
    set_up_registry,
)

CONSUMER = "GOV/MOSA/benefits"
PROVIDER = "GOV/CRVS/registry"


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


@dataclass(frozen=True)
class Prepared:
    """What the bench's setup hands to the measurement: the consumer's token (scopes
    ``exchange:call`` and ``registries:read``) and the provider subsystem's own token (for the
    registry's admission of gateway calls)."""

    consumer_token: str
    provider_token: str
    platform: Platform


def prepare(
    data_dir: str,
    database_url: str | None,
    gateway_port: int,
    provider_port: int,
    registry_port: int,
) -> Prepared:
    """Register consumer and provider, the two services and the rights; issue the tokens."""
    settings = settings_of(data_dir, database_url, gateway_port)
    platform = bootstrap(settings, upgrade=True)
    directory, registry = platform.directory, platform.exchange.registry
    instance = settings.instance
    consumer, provider = (ClientId.parse(f"{instance}/{c}") for c in (CONSUMER, PROVIDER))
    signers = {consumer: Signer.generate(), provider: Signer.generate()}
    for cid, role in ((consumer, Role.MINISTRY), (provider, Role.REGISTRY_OWNER)):
        directory.add_member(
            actor="bench", member_id=cid.member, name=str(cid.member), roles=[role]
        )
        directory.add_subsystem(actor="bench", client_id=cid)
        directory.add_key(actor="bench", client_id=cid, jwk=signers[cid].public_jwk())
        directory.grant(actor="bench", client_id=cid, service=ServiceRef(None, "registries:read"))
    directory.grant(actor="bench", client_id=consumer, service=ServiceRef(None, "exchange:call"))
    for code, base_url in (
        ("echo", f"http://127.0.0.1:{provider_port}"),
        ("households", f"http://127.0.0.1:{registry_port}{BASE_PATH}"),
    ):
        registry.register(
            actor="bench", provider=provider, code=code, version="1", base_url=base_url
        )
        directory.grant(actor="bench", client_id=consumer, service=ServiceRef(provider, code))
    tokens = {}
    for cid, signer in signers.items():
        assertion = client_assertion(
            signer, client_id=str(cid), audience=settings.token_endpoint, now=platform.clock.now()
        )
        request = TokenRequest("client_credentials", JWT_BEARER, assertion, None)
        tokens[cid] = platform.tokens.issue(request).access_token
    return Prepared(tokens[consumer], tokens[provider], platform)


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
    provider_port, registry_port = free_port(), free_port()
    gateway_ports = [free_port() for _ in range(args.replicas)]
    prepared = prepare(data_dir, database_url, gateway_ports[0], provider_port, registry_port)
    public_url = prepared.platform.settings.public_url
    instance = prepared.platform.settings.instance
    registry_dir = str(Path(data_dir) / "registry")
    if "registry" in args.providers:
        readers = [f"{instance}/{CONSUMER}", f"{instance}/{PROVIDER}"]
        set_up_registry(registry_dir, str(key), public_url, readers)
    context = multiprocessing.get_context("spawn")
    providers = {
        "echo": (
            provider_port,
            context.Process(target=serve_echo, args=(provider_port, args.http), daemon=True),
        ),
        "registry": (
            registry_port,
            context.Process(
                target=serve_registry,
                args=(
                    RegistryProvider(
                        registry_dir,
                        str(key),
                        public_url,
                        registry_port,
                        args.http,
                        prepared.provider_token,
                    ),
                ),
                daemon=True,
            ),
        ),
    }
    providers = {name: providers[name] for name in args.providers}
    gateways = [
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
    ]
    started = [*providers.values(), *zip(gateway_ports, gateways, strict=True)]
    for _, server in started:
        server.start()
    try:
        for port, server in started:
            wait_for(port, server)
        return measure(
            args,
            prepared=prepared,
            providers={name: (port, server.pid or 0) for name, (port, server) in providers.items()},
            gateways=(gateway_ports, [server.pid or 0 for server in gateways]),
        )
    finally:
        for _, server in started:
            server.terminate()
            server.join(timeout=10)
        prepared.platform.close()


def measure(
    args: argparse.Namespace,
    *,
    prepared: Prepared,
    providers: dict[str, tuple[int, int]],
    gateways: tuple[list[int], list[int]],
) -> int:
    instance = prepared.platform.settings.instance
    gateway_headers = {
        "Authorization": f"Bearer {prepared.consumer_token}",
        "X-Road-Client": f"{instance}/{CONSUMER}",
    }
    failures: list[str] = []
    sent_through_gateway = 0
    db = (
        "postgresql" if args.database_url else "sqlite"
    ) + f",key={args.key_type},http={args.http}"
    db += ",loop=" + ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    if args.replicas > 1:
        db += f",replicas={args.replicas}"
    for case in cases(args.providers, prepared.consumer_token):
        provider_port, provider_pid = providers[case.provider]
        expect = expected_answer(provider_port, case)
        targets = {
            "direct": Target(
                [provider_port], case.method_path, case.direct_headers, [provider_pid]
            ),
            "gateway": Target(
                gateways[0],
                f"/exchange/r1/{instance}/{PROVIDER}/{case.service}{case.service_path}",
                {**gateway_headers, **case.content_type},
                gateways[1],
            ),
        }
        figures = {name: Figures() for name in targets}
        for _ in range(args.runs):
            for name, target in targets.items():
                failures.extend(
                    f"{name} {case.provider} {case.label}: {failure}"
                    for failure in run_once(
                        target,
                        case.body,
                        expect=expect,
                        concurrency=args.concurrency,
                        seconds=args.seconds,
                        provider_pid=provider_pid,
                        figures=figures[name],
                    )
                )
        sent_through_gateway += figures["gateway"].sent
        report(args, case, f"db={db}", figures)
    failures.extend(check_log(prepared.platform, sent_through_gateway))
    for failure in failures[:20]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def report(args: argparse.Namespace, case: Case, db: str, figures: dict[str, Figures]) -> None:
    """The case's lines: requests/s and server CPU per request of each target, the provider's
    CPU behind the gateway, the added latency and the ratio."""
    runs = args.runs
    busy = f"provider={case.provider},{case.label},concurrency={args.concurrency},{db}"
    for name, got in figures.items():
        emit(f"{name},{busy}", "requests_per_s", statistics.median(got.rps), "1/s", runs)
        # CPU of the server process answering (the gateway alone, without its provider)
        emit(f"{name},{busy}", "server_cpu_us_per_request", statistics.median(got.cpu), "us", runs)
    behind = statistics.median(figures["gateway"].provider_cpu)
    emit(f"gateway,{busy}", "provider_cpu_us_per_request", behind, "us", runs)
    single = {name: got.single for name, got in figures.items()}
    one = f"provider={case.provider},{case.label},concurrency=1,{db}"
    for q in (0.5, 0.99):
        added = (percentile(single["gateway"], q) - percentile(single["direct"], q)) * 1000
        emit(one, f"added_p{round(q * 100)}_ms", added, "ms", runs)
    for name in figures:
        emit(f"{name},{one}", "p50_ms", percentile(single[name], 0.5) * 1000, "ms", runs)
    ratio = statistics.median(figures["gateway"].rps) / statistics.median(figures["direct"].rps)
    emit(busy, "ratio_vs_direct", ratio, "ratio", runs)


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
    parser.add_argument(
        "--providers",
        default="echo,registry",
        help="provider cases, comma-separated: echo (a bare echo), registry (Baobab registries)",
    )
    parser.add_argument("--profile", default=None, help="write the gateway's cProfile stats here")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server URL (a fresh database is made there and dropped); default SQLite",
    )
    args = parser.parse_args(argv)
    args.providers = [name.strip() for name in args.providers.split(",") if name.strip()]
    unknown = set(args.providers) - {"echo", "registry"}
    if unknown or not args.providers:
        parser.error(f"--providers takes echo and/or registry, not {sorted(unknown) or 'nothing'}")
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.runs = args.runs or (1 if args.quick else 3)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
