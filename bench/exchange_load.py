"""The load side of ``bench.exchange_gateway``: a raw asyncio HTTP/1.1 load generator (keep-alive
connections, one request after the other on each), the CPU time of server processes from
``/proc``, and one measurement run of a target (warm-up, load, one connection alone).

Why not httpx: on two shared cores the client competes with the servers it measures, and a
general-purpose client spends several hundred microseconds of CPU per request building and
parsing messages; this one writes the request once and reads ``Content-Length`` bytes back.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench.proc import cpu_seconds


@dataclass
class Outcome:
    latencies: list[float]
    errors: list[str]
    message_ids: int


async def exchange_once(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
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
    extra = {"Content-Type": "application/octet-stream", **extra}
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
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
    expect: bytes | None = None,
) -> Outcome:
    """``connections`` keep-alive connections, each sending one request after the other; they
    are spread over ``ports`` (replicas) in turn. Every answer must be 200 with ``expect`` as its
    body (default: the body sent, for the echo)."""
    expect = body if expect is None else expect
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
                status, headers, answer = await exchange_once(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                if status != 200 or answer != expect:
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


@dataclass(frozen=True)
class Target:
    """Where a case's requests go: the provider directly, or the gateway."""

    ports: list[int]
    path: str
    headers: dict[str, str]
    pids: list[int]  # the answering server's processes, whose CPU is counted


@dataclass
class Figures:
    """One target's figures over the runs of a case."""

    rps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    provider_cpu: list[float] = field(default_factory=list)  # the provider's, behind the target
    single: list[float] = field(default_factory=list)
    sent: int = 0


def run_once(
    target: Target,
    body: bytes,
    *,
    expect: bytes,
    concurrency: int,
    seconds: float,
    provider_pid: int,
    figures: Figures,
) -> list[str]:
    """Warm up, load with ``concurrency`` connections for ``seconds``, then time one connection
    alone; adds to ``figures`` and answers the failures seen."""

    def loaded(connections: int, seconds: float) -> Outcome:
        return asyncio.run(
            load(
                target.ports,
                target.path,
                body,
                target.headers,
                connections=connections,
                seconds=seconds,
                expect=expect,
            )
        )

    warm = loaded(4, 0.5)
    cpu_before, provider_before = cpu_seconds(*target.pids), cpu_seconds(provider_pid)
    busy = loaded(concurrency, seconds)
    served = max(1, len(busy.latencies))
    figures.cpu.append((cpu_seconds(*target.pids) - cpu_before) / served * 1e6)
    figures.provider_cpu.append((cpu_seconds(provider_pid) - provider_before) / served * 1e6)
    alone = loaded(1, seconds / 2)
    figures.rps.append(len(busy.latencies) / seconds)
    figures.single.extend(alone.latencies)
    failures: list[str] = []
    for outcome in (warm, busy, alone):
        failures.extend(outcome.errors[:3])
        figures.sent += len(outcome.latencies)
        if outcome.message_ids != len(outcome.latencies) and target.pids != [provider_pid]:
            failures.append("a gateway answer lacks X-Road-Request-Id")
    return failures
