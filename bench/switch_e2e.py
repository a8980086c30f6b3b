"""Benchmark: end-to-end FSPIOP payments through the switch, at constant arrival rates.

Run from the repository root: ``.venv/bin/python -m bench.switch_e2e [--quick]``.

Four processes on this 2-core machine: the hub (``baobab serve``, every block or the ones given
with ``--blocks``; PostgreSQL in a fresh ``baobab_bench_<random>`` database), two simulated FSPs
(``baobab fsp-sim``, one payer, one payee) and the load generator (this process). Each arrival
asks the payer FSP for one payment (``POST /sim/payments``), which runs the whole FSPIOP flow
through the hub: ``GET /parties`` and its ``PUT`` callback, ``POST /quotes`` and its ``PUT``,
``POST /transfers`` (the hub reserves in the ledger against the payer's Net Debit Cap and forwards
it), the payee's ``PUT /transfers`` with the fulfilment (the hub commits) and the hub's ``PUT`` to
the payer. The answer comes when the payer holds the final callback. Arrivals follow a fixed
schedule (open loop): latency is measured from the scheduled arrival, so a server that falls
behind shows it as queueing, not as fewer requests.

Figures per arrival rate (``case`` names it): ``completed_share`` (committed over offered),
``transfers_per_s`` (committed payments over the phase, from its first arrival to its last
answer), ``p50_ms``/``p95_ms``/``p99_ms`` of the committed payments end to end,
``cpu_ms_per_transfer`` of each process (from ``/proc``; ``postgres``: the backends serving the
database) and ``db_commits_per_transfer`` /
``db_rows_written_per_transfer`` (``pg_stat_database``), which say where the time goes.
``--profile DIR`` runs the servers under cProfile (event-loop thread only). ``--hub-workers N``
serves the hub from N processes sharing its port (``baobab serve --workers N``); the hub's CPU
is then that of all of them.

The result is checked: the hub's positions exact once nothing is in flight (the payer's net
position equals the sum of its committed payments, the payee's its negative, nothing reserved),
and no payment refused for a reason load does not explain (an expired transfer, a callback that
came too late or a request the hub refused as busy, ``2005``, is load; any other error code is a
bug). A failed check exits non-zero and the figures must not be used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from baobab.bootstrap import bootstrap
from baobab.demo.hub import Funding, HubOperator, register_fsp_system, register_operator
from baobab.demo.stack import free_port
from baobab.infra.http.client import HttpClient
from baobab.infra.settings import Settings
from baobab.kernel.clock import SystemClock
from baobab.kernel.signing import Signer
from bench.databases import postgres_database
from bench.proc import cpu_seconds

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
AMOUNT = "100"
CURRENCY = "XOF"
PAYEE_PARTY = ("MSISDN", "22507000001")
OPERATOR = "GOV/OPS/switch-ops"
FUNDING = Funding(CURRENCY, liquidity="1000000000000", net_debit_cap="1000000000000")


class BenchFailure(Exception):
    """The benchmark's own result is wrong: its figures must not be used."""


def emit(case: str, metric: str, value: float, unit: str, runs: int = 1) -> None:
    line = {"bench": "switch_e2e", "case": case, "metric": metric, "value": round(value, 3)}
    print(json.dumps({**line, "unit": unit, "runs": runs}), flush=True)


# --- processes --------------------------------------------------------------------------------


def db_counters(url: str) -> dict[str, int]:
    """Commits and row writes of the benchmark's database so far (``pg_stat_database``)."""
    with psycopg.connect("postgresql://" + url.split("://", 1)[1]) as connection:
        row = connection.execute(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return {"commits": int(row[0]), "rows_written": int(row[1])}


def postgres_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the benchmark's database (the
    server runs on this machine; its background writers are not counted)."""
    with psycopg.connect("postgresql://" + url.split("://", 1)[1]) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    found = {}
    for (pid,) in rows:
        try:
            found[int(pid)] = cpu_seconds(int(pid))
        except OSError:  # the backend ended meanwhile
            continue
    return found


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchFailure(f"{name} exited on start with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise BenchFailure(f"{name} does not listen on {port}")


@contextmanager
def running(commands: dict[str, tuple[list[str], dict[str, str], int]]) -> Iterator[dict[str, int]]:
    """Start each named command; yields their pids; stops them (SIGINT, then SIGKILL) after."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, (argv, env, port) in commands.items():
            processes[name] = subprocess.Popen(
                argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL
            )
            wait_for_port(port, processes[name], name)
        yield {name: p.pid for name, p in processes.items()}
    finally:
        stop(processes.values())


def stop(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Stop servers as Ctrl-C would (SIGINT), then kill any still running after 20 s."""
    running = list(processes)
    for process in running:
        process.send_signal(signal.SIGINT)
    for process in running:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# --- the load generator -----------------------------------------------------------------------


# Outcomes of an overloaded hub rather than of a wrong one: the transfer expired at the hub, or
# a step's callback did not come in time (stage and no error code), or the hub refused a new
# request as busy (2005, load shedding), or the answer never came.
OVERLOAD = ("ABORTED 3303", "FAILED None", "FAILED 2005", "ABORTED 2005", "no answer")


@dataclass
class Phase:
    rate: float
    offered: int = 0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    unsettled: list[str] = field(default_factory=list)  # transfers sent, no answer in time
    samples: dict[str, str] = field(default_factory=dict)  # one description per kind of failure
    elapsed: float = 0.0

    @property
    def committed(self) -> int:
        return self.outcomes["COMMITTED"]

    def wrong(self) -> list[str]:
        """Outcomes no load explains (an error code other than expiry: a bug to look at)."""
        return [f"{n} x {o}" for o, n in self.outcomes.items() if o not in ("COMMITTED", *OVERLOAD)]


async def drive(payer_url: str, token: str, *, rate: float, seconds: float) -> Phase:
    """``rate`` payments per second for ``seconds``, each started on schedule."""
    phase = Phase(rate)
    body = json.dumps(
        {
            "payee": {"type": PAYEE_PARTY[0], "id": PAYEE_PARTY[1]},
            "amount": AMOUNT,
            "currency": CURRENCY,
            "wait": True,
        }
    ).encode()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    pool = HttpClient(timeout=240, max_idle_per_origin=2000)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    last = start

    async def one(at: float) -> None:
        nonlocal last
        try:
            reply = await pool.request("POST", f"{payer_url}/sim/payments", headers, body)
            status, answer = reply.status, reply.body
            outcome = json.loads(answer) if status == 200 else {"state": f"HTTP {status}"}
        except (OSError, TimeoutError, ValueError):
            phase.outcomes["no answer"] += 1
            return
        done = loop.time()
        last = max(last, done)
        state = str(outcome.get("state"))
        if state == "COMMITTED":
            phase.latencies.append(done - at)
            phase.outcomes[state] += 1
        else:
            phase.outcomes[f"{state} {outcome.get('errorCode')}"] += 1
            phase.samples.setdefault(
                f"{state} {outcome.get('errorCode')} at {outcome.get('stage')}",
                str(outcome.get("errorDescription"))[:200],
            )
            if state == "FAILED" and outcome.get("stage") == "transfer":
                phase.unsettled.append(str(outcome["transferId"]))

    tasks = []
    phase.offered = int(rate * seconds)
    for i in range(phase.offered):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at)))
    await asyncio.gather(*tasks)
    await pool.aclose()
    phase.elapsed = last - start
    return phase


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Fsp:
    """A simulated FSP process: its id, port, party, key and config file."""

    fsp_id: str
    port: int
    party: tuple[str, str, str]
    work: Path
    signer: Signer = field(default_factory=Signer.generate)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_id(self) -> str:
        return f"DEV/FSP/{self.fsp_id.upper()}/switch"

    @property
    def control_token(self) -> str:
        return f"bench-{self.fsp_id}"

    def write_config(self, hub_url: str) -> Path:
        key = self.work / f"{self.fsp_id}.jwk"
        key.write_text(json.dumps(self.signer.private_jwk()))
        config = self.work / f"{self.fsp_id}.toml"
        kind, value, name = self.party
        config.write_text(
            f'fsp_id = "{self.fsp_id}"\nclient_id = "{self.client_id}"\n'
            f'hub_url = "{hub_url}/switch"\nkey_file = "{key.name}"\ncurrency = "{CURRENCY}"\n'
            f'control_token = "{self.control_token}"\ncallback_timeout_seconds = 60\n\n'
            f'[[parties]]\ntype = "{kind}"\nid = "{value}"\nname = "{name}"\n'
        )
        return config


def profiled(args: argparse.Namespace, name: str, argv: list[str]) -> list[str]:
    """``argv``, under cProfile (main thread only) writing ``<profile>/<name>.prof`` if asked."""
    if args.profile is None:
        return argv
    args.profile.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "cProfile", "-o", str(args.profile / f"{name}.prof"), *argv]


def prepare(settings: Settings, fsps: list[Fsp], operator: Signer) -> None:
    """Migrate the database and register the operator and the FSP systems at the console."""
    platform = bootstrap(settings, upgrade=True)
    try:
        register_operator(platform.directory, f"DEV/{OPERATOR}", signer=operator)
        for fsp in fsps:
            register_fsp_system(
                platform.directory, fsp.client_id, name=fsp.fsp_id, signer=fsp.signer
            )
    finally:
        platform.close()


def run(args: argparse.Namespace) -> int:
    with (
        postgres_database(args.database_url) as url,
        tempfile.TemporaryDirectory(prefix="bench-switch-") as tmp,
    ):
        work = Path(tmp)
        port = free_port()
        hub_url = f"http://127.0.0.1:{port}"
        hub_env = {
            "BAOBAB_DATABASE_URL": url,
            "BAOBAB_DATA_DIR": str(work / "var"),
            "BAOBAB_PUBLIC_URL": hub_url,
            "BAOBAB_PORT": str(port),
            "BAOBAB_ACCESS_TOKEN_TTL_SECONDS": "3600",
            "BAOBAB_LOG_LEVEL": "WARNING",
        }
        payer = Fsp("payerfsp", free_port(), ("MSISDN", "22501000001", "Kofi Mensah"), work)
        payee = Fsp("payeefsp", free_port(), (*PAYEE_PARTY, "Awa Kone"), work)
        operator_key = Signer.generate()
        settings = Settings(
            database_url=url,
            data_dir=work / "var",
            public_url=hub_url,
            port=port,
            access_token_ttl_seconds=3600,
        )
        prepare(settings, [payer, payee], operator_key)
        baobab = str(Path(sys.executable).parent / "baobab")
        serve = [baobab, "serve", f"--workers={args.hub_workers}"]
        serve += [f"--block={b}" for b in args.blocks]
        commands = {"hub": (profiled(args, "hub", serve), hub_env, port)}
        for fsp in (payer, payee):
            config = str(fsp.write_config(hub_url))
            argv = [baobab, "fsp-sim", "--config", config, "--port", str(fsp.port)]
            commands[fsp.fsp_id] = (profiled(args, fsp.fsp_id, argv), {}, fsp.port)
        with running(commands) as pids:
            operator = HubOperator(
                base_url=hub_url,
                client_id=f"DEV/{OPERATOR}",
                signer=operator_key,
                clock=SystemClock(),
            )
            try:
                for fsp in (payer, payee):
                    member = fsp.client_id.rsplit("/", 1)[0]
                    operator.join(
                        fsp_id=fsp.fsp_id, member=member, fsp_url=fsp.url, funding=FUNDING
                    )
                return measure(
                    args, operator=operator, payer=payer, payee=payee, pids=pids, url=url
                )
            finally:
                operator.close()


def measure(
    args: argparse.Namespace,
    *,
    operator: HubOperator,
    payer: Fsp,
    payee: Fsp,
    pids: dict[str, int],
    url: str,
) -> int:
    registered = httpx.post(
        f"{payee.url}/sim/parties/register",
        headers={"authorization": f"Bearer {payee.control_token}"},
        timeout=60,
    )
    if registered.status_code != 200:
        raise BenchFailure(f"the payee's parties were not registered: {registered.text}")
    pids = {**pids, "loadgen": os.getpid()}
    failures: list[str] = []
    warm = asyncio.run(drive(payer.url, payer.control_token, rate=20, seconds=2))
    failures.extend(warm.wrong())
    committed = warm.committed
    unsettled = list(warm.unsettled)
    for rate in args.rates:
        before = {name: process_cpu(name, pid) for name, pid in pids.items()}
        db_before, pg_before = db_counters(url), postgres_cpu(url)
        phase = asyncio.run(drive(payer.url, payer.control_token, rate=rate, seconds=args.seconds))
        spent = {name: process_cpu(name, pid) - before[name] for name, pid in pids.items()}
        spent["postgres"] = sum(
            seconds - pg_before.get(pid, 0.0) for pid, seconds in postgres_cpu(url).items()
        )
        db_spent = {k: v - db_before[k] for k, v in db_counters(url).items()}
        load = os.getloadavg()[0]
        committed += phase.committed
        unsettled += phase.unsettled
        failures.extend(phase.wrong())
        report(args, phase, spent=spent, db_spent=db_spent, load=load)
    failures.extend(check_positions(operator, payer, payee, committed, unsettled))
    for failure in failures[:20]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def process_cpu(name: str, pid: int) -> float:
    """CPU seconds of a process; the hub's with its workers."""
    return cpu_seconds(pid, descendants=name == "hub")


def report(
    args: argparse.Namespace,
    phase: Phase,
    *,
    spent: dict[str, float],
    db_spent: dict[str, int],
    load: float,
) -> None:
    case = f"rate={phase.rate:g}/s,blocks={'+'.join(args.blocks) or 'all'},db=postgresql"
    if args.hub_workers > 1:
        case += f",hub_workers={args.hub_workers}"
    emit(case, "completed_share", phase.committed / phase.offered, "ratio")
    if phase.committed:
        emit(case, "transfers_per_s", phase.committed / phase.elapsed, "1/s")
        for q in (0.5, 0.95, 0.99):
            emit(case, f"p{int(q * 100)}_ms", percentile(phase.latencies, q) * 1000, "ms")
        for counter, count in db_spent.items():
            emit(case, f"db_{counter}_per_transfer", count / phase.committed, "count")
        for name, seconds in spent.items():
            emit(f"{case},process={name}", "cpu_ms_per_transfer",
                 seconds * 1000 / phase.committed, "ms")  # fmt: skip
    emit(case, "load_average_1m", load, "load")
    others = {o: n for o, n in phase.outcomes.items() if o != "COMMITTED"}
    if others:
        print(f"rate {phase.rate:g}/s: not committed: {others}", file=sys.stderr)
        for kind, description in phase.samples.items():
            print(f"  e.g. {kind}: {description}", file=sys.stderr)


def check_positions(
    operator: HubOperator, payer: Fsp, payee: Fsp, committed: int, unsettled: list[str]
) -> list[str]:
    """Once nothing is in flight: the payer's net position is the sum of its committed payments
    (those whose final callback came after the load generator stopped waiting included), the
    payee's its negative."""
    deadline = time.monotonic() + 120  # transfers still queued expire within their TTL
    while True:
        seen = {f.fsp_id: operator.position(f.fsp_id, CURRENCY) for f in (payer, payee)}
        if all(p["reserved"] == "0" for p in seen.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    headers = {"authorization": f"Bearer {payer.control_token}"}
    for transfer_id in unsettled:
        late = httpx.get(f"{payer.url}/sim/transfers/{transfer_id}", headers=headers, timeout=30)
        if late.status_code == 200 and late.json()["state"] == "COMMITTED":
            committed += 1
    total = committed * int(AMOUNT)
    problems = []
    if (seen[payer.fsp_id]["netPosition"], seen[payee.fsp_id]["netPosition"]) != (
        str(total),
        str(-total),
    ):
        problems.append(f"positions after {committed} committed payments of {AMOUNT}: {seen}")
    if any(p["reserved"] != "0" for p in seen.values()):
        problems.append(f"reservations left: {seen}")
    emit("all", "transfers_checked", float(committed), "count")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.switch_e2e", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short phase at 200/s")
    parser.add_argument("--rates", default=None, help="comma-separated arrival rates per second")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL, help="PostgreSQL server")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each server here")
    parser.add_argument(
        "--hub-workers", type=int, default=1, help="processes serving the hub (default 1)"
    )
    parser.add_argument(
        "--blocks",
        default="",
        help="serve only these blocks, e.g. switch,directory (default: every block)",
    )
    args = parser.parse_args(argv)
    args.rates = [
        float(r) for r in (args.rates or ("200" if args.quick else "25,50,100,200")).split(",")
    ]
    args.blocks = [b for b in args.blocks.split(",") if b]
    args.seconds = args.seconds or (10.0 if args.quick else 20.0)
    try:
        return run(args)
    except BenchFailure as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
