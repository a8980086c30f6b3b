"""Benchmark: the CPU the simulated FSP (``baobab fsp-sim``) spends per payment, as payer and as
payee, without the switch's own cost in the way.

Run from the repository root: ``.venv/bin/python -m bench.fspsim [--quick] [--sign-requests]``.

Three processes on this 2-core machine: two ``baobab fsp-sim`` (a payer FSP and a payee FSP,
started by the CLI as a user would) and this one, which is the load generator and a minimal hub:
a bare asyncio HTTP/1.1 server that issues the access token (client credentials; the client
assertion is not verified) and passes each FSPIOP message on to the other FSP as the switch does
(``GET /parties``, ``POST /quotes`` and ``POST /transfers`` to the payee, their ``PUT`` callbacks
to the payer; headers kept, ``202``/``200`` first, the message after). Each arrival asks the payer
for one whole payment (``POST /sim/payments``, open loop at ``--rate``), so per payment the payer
serves 4 requests and sends 3, the payee serves 3 and sends 3.

Figures per phase (medians over ``--runs`` phases after a warm-up): ``cpu_ms_per_payment`` of
each simulator (user + system CPU from ``/proc``) and ``p50_ms``/``p95_ms`` of a payment end to
end. The result is checked: every payment COMMITTED, the fulfilment the payee sent hashes
(SHA-256) to the condition of the transfer, and with ``--sign-requests`` every message's
``FSPIOP-Signature`` verifies with its sender's key; anything else fails the run.
``--profile DIR`` runs the simulators under cProfile, timed by CPU rather than by the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

from baobab.infra.http.client import HttpClient
from baobab.kernel.signing import Signer, VerificationKey, import_public_jwk
from baobab.switch.fspiop import FspiopError, verify_request
from bench.proc import cpu_seconds
from bench.switch_e2e import stop

BENCH = "fspsim"
CURRENCY = "XOF"
PAYEE_PARTY = ("MSISDN", "22507000001")
OAUTH_PATH = "/directory/oauth2/token"
# cProfile on CPU time, not wall time: on a busy machine a socket write that wakes the reader
# gives up the core, and a wall-clock profile charges that wait to the write.
PROFILED = """
import cProfile, sys, time
from baobab.cli import main
out, sys.argv = sys.argv[1], ["baobab", *sys.argv[2:]]
profile = cProfile.Profile(time.process_time)
try:
    profile.runcall(main)
finally:
    profile.dump_stats(out)
"""
NOT_PASSED = frozenset({"host", "content-length", "connection", "authorization"})


class BenchFailure(Exception):
    """The benchmark's own result is wrong: its figures must not be used."""


def emit(case: str, metric: str, value: float, unit: str, runs: int = 1) -> None:
    line = {"bench": BENCH, "case": case, "metric": metric, "value": round(value, 3)}
    print(json.dumps({**line, "unit": unit, "runs": runs}), flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the minimal hub --------------------------------------------------------------------------


@dataclass
class Hub:
    """Routes FSPIOP messages between one payer and one payee FSP, as the switch would."""

    payer_url: str
    payee_url: str
    keys: dict[str, VerificationKey] = field(default_factory=dict)  # FSP id -> key; empty: unsigned
    client: HttpClient = field(
        default_factory=lambda: HttpClient(timeout=120, max_idle_per_origin=500)
    )
    conditions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def route(self, method: str, path: str, body: bytes) -> tuple[int, str | None]:
        """The status to answer and where to pass the message on (None: nowhere)."""
        parts = path.split("/")  # "", "switch", resource, ...
        resource = parts[2] if len(parts) > 2 else ""
        if method in ("GET", "POST") and resource in ("parties", "quotes", "transfers"):
            if resource == "transfers":
                sent = json.loads(body)
                self.conditions[str(sent["transferId"])] = str(sent["condition"])
            return 202, self.payee_url
        if method == "PUT" and resource in ("parties", "quotes", "transfers"):
            if resource == "transfers" and not path.endswith("/error"):
                self.check_fulfilment(parts[3], json.loads(body))
            return 200, self.payer_url
        return 404, None

    def check_fulfilment(self, transfer_id: str, body: dict[str, object]) -> None:
        condition = self.conditions.pop(transfer_id, None)
        fulfilment = str(body.get("fulfilment", ""))
        digest = hashlib.sha256(base64.urlsafe_b64decode(fulfilment + "==")).digest()
        if condition is None or base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != (
            condition
        ):
            self.problems.append(f"transfer {transfer_id}: the fulfilment misses the condition")

    def check_signature(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        key = self.keys.get(headers.get("fspiop-source", ""))
        try:
            verify_request(
                headers.get("fspiop-signature", ""),
                method=method,
                uri=path.removeprefix("/switch"),
                headers=headers,
                body=body,
                keys=[key] if key else [],
            )
        except FspiopError as exc:
            self.problems.append(f"{method} {path}: {exc}")

    async def forward(
        self, base: str, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> None:
        url = base + path.removeprefix("/switch")
        try:
            answer = await self.client.request(method, url, headers, body)
        except OSError as exc:
            self.problems.append(f"{method} {url}: {exc!r}")
            return
        if answer.status not in (200, 202):
            self.problems.append(f"{method} {url}: {answer.status} {answer.body[:200]!r}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if path == OAUTH_PATH:
                    token = b'{"access_token":"bench","token_type":"Bearer","expires_in":3600}'
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(token), token))
                    continue
                if self.keys:
                    self.check_signature(method, path, headers, body)
                status, target = self.route(method, path, body)
                writer.write(b"HTTP/1.1 %d -\r\ncontent-length: 0\r\n\r\n" % status)
                if target is not None:
                    passed = {k: v for k, v in headers.items() if k not in NOT_PASSED}
                    task = asyncio.create_task(self.forward(target, method, path, passed, body))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


# --- the load generator -----------------------------------------------------------------------


@dataclass
class Phase:
    offered: int = 0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


async def drive(payer_url: str, token: str, *, rate: float, seconds: float) -> Phase:
    """``rate`` payments per second for ``seconds``, each started on schedule."""
    phase = Phase(offered=int(rate * seconds))
    body = json.dumps(
        {"payee": {"type": PAYEE_PARTY[0], "id": PAYEE_PARTY[1]}, "amount": "100",
         "currency": CURRENCY}
    ).encode()  # fmt: skip
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    pool = HttpClient(timeout=120, max_idle_per_origin=2000)
    start = time.perf_counter() + 0.05

    async def one(at: float) -> None:
        try:
            reply = await pool.request("POST", f"{payer_url}/sim/payments", headers, body)
            outcome = json.loads(reply.body) if reply.status == 200 else {}
        except (OSError, ValueError) as exc:
            phase.outcomes[f"no answer {exc!r}"] += 1
            return
        phase.outcomes[f"{outcome.get('state')} {outcome.get('errorCode') or ''}".strip()] += 1
        if outcome.get("state") == "COMMITTED":
            phase.latencies.append(time.perf_counter() - at)

    tasks = []
    for i in range(phase.offered):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at)))
    await asyncio.gather(*tasks)
    await pool.aclose()
    return phase


# --- the run ----------------------------------------------------------------------------------


def write_config(
    work: Path, fsp_id: str, party: tuple[str, str, str], hub: str, signer: Signer | None
) -> Path:
    """The configuration file of one simulator; it signs its requests when given ``signer``."""
    sign = signer is not None
    key = work / f"{fsp_id}.jwk"
    key.write_text(json.dumps((signer or Signer.generate()).private_jwk()))
    kind, value, name = party
    config = work / f"{fsp_id}.toml"
    config.write_text(
        f'fsp_id = "{fsp_id}"\nclient_id = "DEV/FSP/{fsp_id.upper()}/switch"\n'
        f'hub_url = "{hub}/switch"\nkey_file = "{key.name}"\ncurrency = "{CURRENCY}"\n'
        f'control_token = "bench-{fsp_id}"\nsign_requests = {str(sign).lower()}\n'
        f"callback_timeout_seconds = 60\n\n"
        f'[[parties]]\ntype = "{kind}"\nid = "{value}"\nname = "{name}"\n'
    )
    return config


@contextlib.contextmanager
def simulators(
    configs: dict[str, tuple[Path, int]], profile: Path | None
) -> Iterator[dict[str, int]]:
    """Start ``baobab fsp-sim`` for each config (under cProfile writing ``<profile>/<name>.prof``
    if asked); yields their pids; stops them after."""
    baobab = str(Path(sys.executable).parent / "baobab")

    def argv(name: str, config: Path, port: int) -> list[str]:
        options = ["fsp-sim", "--config", str(config), "--port", str(port)]
        if profile is None:
            return [baobab, *options]
        profile.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-c", PROFILED, str(profile / f"{name}.prof"), *options]

    processes = {
        name: subprocess.Popen(
            argv(name, config, port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        for name, (config, port) in configs.items()
    }
    try:
        yield {name: p.pid for name, p in processes.items()}
    finally:
        stop(processes.values())


async def wait_listening(port: int, deadline: float) -> None:
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise BenchFailure(f"nothing listens on {port}") from None
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-fspsim-") as tmp:
        work = Path(tmp)
        hub_port, payer_port, payee_port = free_port(), free_port(), free_port()
        hub_url = f"http://127.0.0.1:{hub_port}"
        payer_url, payee_url = f"http://127.0.0.1:{payer_port}", f"http://127.0.0.1:{payee_port}"
        signers = {fsp: Signer.generate() for fsp in ("payerfsp", "payeefsp")}
        keys = {fsp: import_public_jwk(s.public_jwk()) for fsp, s in signers.items()}
        hub = Hub(payer_url, payee_url, keys if args.sign_requests else {})
        server = await asyncio.start_server(hub.handle, "127.0.0.1", hub_port)
        parties = {
            "payerfsp": ("MSISDN", "22501000001", "Kofi Mensah"),
            "payeefsp": (*PAYEE_PARTY, "Awa Kone"),
        }
        configs = {
            fsp.removesuffix("fsp"): (
                write_config(
                    work, fsp, party, hub_url, signers[fsp] if args.sign_requests else None
                ),
                port,
            )
            for (fsp, party), port in zip(parties.items(), (payer_port, payee_port), strict=True)
        }
        with simulators(configs, args.profile) as pids:
            for port in (payer_port, payee_port):
                await wait_listening(port, time.monotonic() + 60)
            await drive(payer_url, "bench-payerfsp", rate=args.rate, seconds=1)
            cpu: dict[str, list[float]] = {name: [] for name in pids}
            latencies: list[float] = []
            outcomes: Counter[str] = Counter()
            for _ in range(args.runs):
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                phase = await drive(
                    payer_url, "bench-payerfsp", rate=args.rate, seconds=args.seconds
                )
                for name, pid in pids.items():
                    cpu[name].append((cpu_seconds(pid) - before[name]) / phase.offered)
                latencies += phase.latencies
                outcomes += phase.outcomes
        server.close()
        await hub.client.aclose()
    case = f"rate={args.rate:g}/s,signed={str(args.sign_requests).lower()}"
    for name, values in cpu.items():
        ms = 1000 * statistics.median(values)
        emit(f"{case},process={name}", "cpu_ms_per_payment", ms, "ms", args.runs)
    latencies.sort()
    for q in (0.5, 0.95):
        value = latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0
        emit(case, f"p{int(q * 100)}_ms", 1000 * value, "ms", args.runs)
    emit(case, "load_average_1m", os.getloadavg()[0], "load")
    wrong = [f"{n} x {o}" for o, n in outcomes.items() if o != "COMMITTED"] + hub.problems
    for problem in wrong[:20]:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if wrong else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 phases of 3 s")
    parser.add_argument("--rate", type=float, default=40.0, help="payments per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one phase")
    parser.add_argument("--runs", type=int, default=5, help="phases measured")
    parser.add_argument("--sign-requests", action="store_true", help="FSPIOP-Signature on")
    parser.add_argument("--profile", type=Path, help="run the simulators under cProfile here")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs = 3.0, 3
    sys.exit(uvloop.run(run(args)))


if __name__ == "__main__":
    main()
