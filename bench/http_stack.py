"""Benchmark: what one HTTP request costs Baobab's server before any block code runs.

Run from the repository root: ``.venv/bin/python -m bench.http_stack [--quick]``.

Three servers, each its own process on this machine, driven in turn by a load generator in this
process that keeps ``--connections`` keep-alive HTTP/1.1 connections busy:

- ``floor``: a bare Starlette app answering ``GET /health`` under uvicorn (httptools, uvloop),
  the least any ASGI server in Python costs per request here;
- ``baobab``: the real ``baobab serve`` command (every block, SQLite in a temporary directory,
  JSON logs on stderr into a file), driven with ``GET /health`` and with ``GET /identity/profiles``
  (a cheap authenticated route: bearer token verified, scope and role checked, no database).

Each case prints ``requests_per_s`` and ``server_cpu_us_per_request`` (the server process's user +
system time over the run, from ``/proc/<pid>/stat``, divided by the answers), the steadier figure
on a shared machine, and ``ratio_vs_floor`` of the CPU per request. Every answer is checked (status
and body), and the Baobab server's log must hold exactly one access line per request with a
request id and the route template.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.proc import cpu_seconds

BENCH = "http_stack"


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Sizes:
    runs: int
    seconds: float  # per timed run
    connections: int


QUICK = Sizes(runs=2, seconds=2.0, connections=16)
FULL = Sizes(runs=5, seconds=6.0, connections=16)


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


# --- the servers -------------------------------------------------------------------------------


def serve_floor(port: int) -> None:
    """The floor: a bare Starlette app in uvicorn, configured as ``baobab serve`` runs Baobab."""
    from starlette.applications import Starlette  # noqa: PLC0415 - only the server needs it
    from starlette.responses import JSONResponse  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from baobab.infra.http.server import run_server  # noqa: PLC0415

    async def health(_: object) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    run_server(Starlette(routes=[Route("/health", health)]), host="127.0.0.1", port=port)


def start_baobab(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "BAOBAB_DATA_DIR": str(data_dir),
        "BAOBAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BAOBAB_LOG_LEVEL": "INFO",
    }
    environment.pop("BAOBAB_DATABASE_URL", None)
    command = [str(Path(sys.executable).parent / "baobab"), "serve", "--host", "127.0.0.1"]
    with log.open("wb") as sink:
        return subprocess.Popen([*command, "--port", str(port)], env=environment, stderr=sink)


def start_floor(port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.http_stack", "--serve-floor", str(port)]
    with log.open("wb") as sink:
        return subprocess.Popen(command, stderr=sink)


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        check(server.poll() is None, f"the server on port {port} exited ({server.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchFailure(f"no server answered on port {port}")


def prepare_token(data_dir: Path, port: int) -> str:
    """Migrate the database, register an enrolment agency with ``identity:enrol`` and return
    its access token (signed by the instance key the server will load from ``data_dir``)."""
    from baobab.bootstrap import bootstrap  # noqa: PLC0415
    from baobab.directory import Role  # noqa: PLC0415
    from baobab.infra.settings import Settings  # noqa: PLC0415
    from bench.identity_auth import register, token  # noqa: PLC0415

    settings = Settings(data_dir=data_dir, public_url=f"http://127.0.0.1:{port}", port=port)
    platform = bootstrap(settings, upgrade=True)
    try:
        name = "GOV/NRB/enrolment"
        signer = register(platform, name, scopes=["identity:enrol"], role=Role.ENROLMENT_AGENCY)
        return token(platform, name, signer)
    finally:
        platform.close()


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Load:
    answered: int
    wrong: list[str]


async def _connection(
    port: int, request: bytes, expect: bytes, deadline: float, load: Load
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
            body = await reader.readexactly(length)
            load.answered += 1
            if not head.startswith(b"HTTP/1.1 200") or expect not in body:
                load.wrong.append(head.split(b"\r\n", 1)[0].decode() + " " + body.decode()[:300])
    finally:
        writer.close()


async def _generate(
    port: int, request: bytes, expect: bytes, seconds: float, connections: int
) -> Load:
    load = Load(0, [])
    deadline = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(port, request, expect, deadline, load) for _ in range(connections))
    )
    return load


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    request: bytes
    expect: bytes  # a piece every answer's body holds


@dataclass
class Figures:
    rates: list[float]
    server_us: list[float]
    answered: int = 0


def drive(sizes: Sizes, port: int, server: subprocess.Popen[bytes], case: Case) -> Figures:
    """A warm-up, then ``runs`` timed runs of ``case``."""
    warm = asyncio.run(_generate(port, case.request, case.expect, 1.0, sizes.connections))
    check(not warm.wrong, f"{case.name}: wrong answers: {warm.wrong[:3]}")
    figures = Figures([], [], warm.answered)
    for _ in range(sizes.runs):
        started, cpu = time.perf_counter(), cpu_seconds(server.pid)
        load = asyncio.run(
            _generate(port, case.request, case.expect, sizes.seconds, sizes.connections)
        )
        elapsed = time.perf_counter() - started
        check(not load.wrong, f"{case.name}: wrong answers: {load.wrong[:3]}")
        check(load.answered > 0, f"{case.name}: no answers")
        figures.rates.append(load.answered / elapsed)
        figures.server_us.append((cpu_seconds(server.pid) - cpu) / load.answered * 1e6)
        figures.answered += load.answered
    return figures


def get(port: int, path: str, access_token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {access_token}\r\n" if access_token else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode()


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def check_access_log(log: Path, expected: dict[str, int]) -> None:
    """One JSON access line per request, with its request id and route template."""
    counted: dict[str, int] = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("logger") != "baobab.access":
            continue
        check(len(str(entry.get("request_id", ""))) >= 8, f"an access line lacks an id: {line}")
        check(entry.get("status") == 200, f"an access line with status {entry.get('status')}")
        counted[entry["route"]] = counted.get(entry["route"], 0) + 1
    check(counted == expected, f"access log lines {counted}, requests answered {expected}")


def run(sizes: Sizes, root: Path) -> None:
    results: dict[str, Figures] = {}
    port = free_port()
    floor = start_floor(port, root / "floor.log")
    try:
        wait_for(port, floor)
        case = Case("floor", get(port, "/health"), b'"status":"ok"')
        results["starlette,route=/health"] = drive(sizes, port, floor, case)
    finally:
        stop(floor)

    port = free_port()
    data_dir = root / "baobab"
    access_token = prepare_token(data_dir, port)
    log = root / "baobab.log"
    server = start_baobab(data_dir, port, log)
    try:
        wait_for(port, server)
        health = Case("health", get(port, "/health"), b'"status":"ok"')
        results["baobab,route=/health"] = drive(sizes, port, server, health)
        profiles = Case(
            "profiles", get(port, "/identity/profiles", access_token), b'"active":"example-a@'
        )
        results["baobab,route=/identity/profiles,auth=bearer"] = drive(
            sizes, port, server, profiles
        )
    finally:
        stop(server)
    check_access_log(
        log,
        {
            "/health": results["baobab,route=/health"].answered,
            "/identity/profiles": results["baobab,route=/identity/profiles,auth=bearer"].answered,
        },
    )

    floor_us = statistics.median(results["starlette,route=/health"].server_us)
    stack = f"http=httptools,loop=uvloop,db=sqlite,connections={sizes.connections}"
    for name, figures in results.items():
        case_name = f"{name},{stack}"
        cpu = statistics.median(figures.server_us)
        emit(case_name, "requests_per_s", statistics.median(figures.rates), "1/s", sizes.runs)
        emit(case_name, "server_cpu_us_per_request", cpu, "us", sizes.runs)
        emit(case_name, "ratio_vs_floor", cpu / floor_us, "ratio", sizes.runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--connections", type=int, help="keep-alive connections of the load")
    parser.add_argument("--seconds", type=float, help="seconds per timed run")
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0
    sizes = QUICK if args.quick else FULL
    if args.connections:
        sizes = Sizes(sizes.runs, sizes.seconds, args.connections)
    if args.seconds:
        sizes = Sizes(sizes.runs, args.seconds, sizes.connections)
    with tempfile.TemporaryDirectory(prefix="baobab-bench-http-") as tmp:
        try:
            run(sizes, Path(tmp))
        except BenchFailure as exc:
            print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
