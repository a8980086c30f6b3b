"""Benchmark: the switch's transfer core in one process, without HTTP - what the hub itself
costs per transfer.

Run from the repository root: ``.venv/bin/python -m bench.switch_core [--quick]``.

Two FSPs joined through the participant service; ``threads`` callers each run transfers end to
end through the transfer service: prepare (reserve in the ledger through the batcher, record,
queue the forward), fulfil (commit, record, queue the payer's callback). The outbox worker runs
in its thread and "delivers" to a sender that answers 202 at once, so every callback's
round trip through the outbox table is counted but no network. Figures: ``cpu_ms_per_transfer``
(process CPU time over the run, every thread) and ``transfers_per_s`` (wall clock, in
process). The end-to-end figure through real HTTP with simulated FSPs is ``bench.switch_e2e``.

The result is checked: every transfer committed, every callback delivered, the positions exact.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from baobab.bootstrap import Platform, bootstrap
from baobab.directory import MemberId, Role
from baobab.infra import migrate
from baobab.infra.database import Database
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.ids import new_id
from baobab.switch import Switch, assemble_switch
from baobab.switch.adapters.bulk_sql import SqlBulkStore
from baobab.switch.adapters.directory import DirectoryForSwitch
from baobab.switch.adapters.oracle import SqlOracle
from baobab.switch.adapters.settlement_sql import SqlSettlementStore
from baobab.switch.adapters.sql import SqlSwitchStore
from baobab.switch.domain import Callback
from baobab.switch.fspiop import condition_of, new_fulfilment, outgoing_headers
from baobab.switch.fspiop import datetime_text as iso
from bench.databases import postgres_database

BENCH = "switch_core"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
ENDPOINTS = {
    "FSPIOP_CALLBACK_URL_TRANSFER_POST": "http://{fsp}.test/transfers",
    "FSPIOP_CALLBACK_URL_TRANSFER_PUT": "http://{fsp}.test/transfers/{{{{transferId}}}}",
    "FSPIOP_CALLBACK_URL_TRANSFER_ERROR": "http://{fsp}.test/transfers/{{{{transferId}}}}/error",
}


class BenchFailure(Exception):
    """The run produced a wrong result; its figures must not be used."""


class CountingSender:
    """Accepts every callback at once and counts them."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, callback: Callback, *, timeout: float) -> int:
        self.sent += 1
        return 202

    async def aclose(self) -> None:
        return None


def emit(case: str, metric: str, value: float, unit: str) -> None:
    line = {"bench": BENCH, "case": case, "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps(line), flush=True)


def run(url: str, engine: str, *, transfers: int, threads: int) -> None:
    with tempfile.TemporaryDirectory(prefix="baobab-bench-") as data_dir:
        db = Database(url)
        migrate.upgrade(db, BLOCKS)
        db.dispose()
        platform = bootstrap(Settings(database_url=url, data_dir=Path(data_dir)), upgrade=False)
        sender = CountingSender()
        directory = DirectoryForSwitch(platform.directory, platform.clock)
        switch = assemble_switch(  # the platform's switch, but with the counting sender
            store=(store := SqlSwitchStore(platform.db)),
            ledger=platform.ledger,
            batcher=platform.ledger_batcher,
            clock=platform.clock,
            signer=platform.signer,
            sender=sender,
            member_roles=directory.member_roles,
            keys_of=directory.keys_of,
            require_signature=False,
            oracle=SqlOracle(platform.db, platform.clock),
            settlement_store=SqlSettlementStore(platform.db),
            bulk_store=SqlBulkStore(store),
        )
        worker = switch.worker
        try:
            _join(platform, switch, "payer", "PAYER")
            _join(platform, switch, "payee", "PAYEE")
            payer = switch.participants.get("payer")
            payee = switch.participants.get("payee")
            worker.start()

            def one(_: int) -> None:
                fulfilment = new_fulfilment()
                transfer_id = new_id()
                now = platform.clock.now()
                body = {
                    "transferId": transfer_id,
                    "payerFsp": "payer",
                    "payeeFsp": "payee",
                    "amount": {"amount": "1", "currency": "USD"},
                    "ilpPacket": "AYIBgQAAAAAAAASw",
                    "condition": condition_of(fulfilment),
                    "expiration": iso(now + timedelta(minutes=1)),
                }
                raw = json.dumps(body).encode()
                headers = outgoing_headers(
                    "transfers", source="payer", destination="payee", at=now, expects_callback=True
                )
                switch.transfers.prepare(payer, message=json.loads(raw), headers=headers, body=raw)
                answer = {
                    "fulfilment": fulfilment,
                    "completedTimestamp": iso(platform.clock.now()),
                    "transferState": "COMMITTED",
                }
                raw = json.dumps(answer).encode()
                switch.transfers.fulfil(
                    payee, transfer_id, message=json.loads(raw), headers=headers, body=raw
                )

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one, range(min(200, transfers))))  # warm up
                cpu, wall = time.process_time(), time.perf_counter()
                list(pool.map(one, range(transfers)))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            deadline = time.monotonic() + 60
            expected = 2 * (transfers + min(200, transfers))
            while sender.sent < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            _check(switch, transfers + min(200, transfers), sender.sent, expected)
            case = f"db={engine},threads={threads}"
            emit(case, "cpu_ms_per_transfer", cpu / transfers * 1000, "ms")
            emit(case, "transfers_per_s", transfers / wall, "1/s")
            emit(case, "load_average_1m", os.getloadavg()[0], "load")
        finally:
            worker.stop()
            platform.close()


def _join(platform: Platform, switch: Switch, fsp: str, code: str) -> None:
    member = f"DEV/FSP/{code}"
    platform.directory.add_member(
        actor="bench", member_id=MemberId.parse(member), name=code, roles=[Role.FSP]
    )
    participants = switch.participants
    participants.register(actor="bench", fsp_id=fsp, member=member, currencies=["USD"])
    for kind, template in ENDPOINTS.items():
        participants.set_endpoint(
            actor="bench", fsp_id=fsp, kind=kind, value=template.format(fsp=fsp)
        )
    participants.deposit(
        actor="bench", fsp_id=fsp, currency="USD", amount=10**12, movement_id=new_id()
    )
    participants.set_net_debit_cap(actor="bench", fsp_id=fsp, currency="USD", amount=10**11)


def _check(switch: Switch, committed: int, sent: int, expected: int) -> None:
    if sent != expected:
        raise BenchFailure(f"{sent} callbacks delivered, {expected} expected")
    (payer,) = switch.participants.positions("payer")
    (payee,) = switch.participants.positions("payee")
    if (payer.net_position, payer.reserved, payee.net_position) != (
        committed * 100,
        0,
        -committed * 100,
    ):
        raise BenchFailure(f"positions wrong after {committed} transfers: {payer}, {payee}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.switch_core", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--threads", type=int, default=32, help="concurrent callers on PostgreSQL")
    args = parser.parse_args(argv)
    transfers = 500 if args.quick else 3000
    try:
        if not args.no_postgres:
            admin = os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
            with postgres_database(admin) as url:
                run(url, "postgresql", transfers=transfers, threads=args.threads)
        with tempfile.TemporaryDirectory(prefix="baobab-bench-sqlite-") as directory:
            run(f"sqlite:///{directory}/bench.db", "sqlite", transfers=transfers, threads=4)
    except BenchFailure as failure:
        print(f"bench.switch_core: WRONG RESULT: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
