"""Benchmark: yes/no authentication over real HTTP, and enrolment with deduplication.

Run from the repository root: ``.venv/bin/python -m bench.identity_auth [--quick]``.

**Authentication.** The identity router runs in uvicorn (one process) on a free port over an
embedded SQLite database; a load generator in this process keeps ``--connections`` keep-alive
HTTP/1.1 connections busy with ``POST /identity/authenticate`` (demographic factor: given name
and year of birth) for a relying party whose bearer access token is verified on every request.
One request in ten claims a wrong year and must be answered "no"; every answer is checked. Each
authentication is audited through the group-commit journal; afterwards the audit chain must
verify and hold exactly one ``identity.authentication`` entry per request sent. Server and load
generator share this machine's cores.

**Enrolment.** ``EnrolmentService.submit`` on the full path (packet signature against the
agency's registered key, schema check, deduplication against a gallery of ``--gallery`` synthetic
records held by the matching engine, SQL commit with encrypted attributes, audit entry), one
packet after another. Half the packets are new people; half are exact re-enrolments of gallery
people, and every one of those must come out ``duplicate`` of the right record.

Prints ``auth_per_s``, ``p50_ms``, ``p99_ms`` and ``enrolments_per_s`` as JSON lines.
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
from collections.abc import Sequence
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

BENCH = "identity_auth"
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


# the per-identity limit (30 a minute) needs people >= rate * minutes / 30
QUICK = Sizes(people=600, runs=2, seconds=4.0, connections=32, gallery=20_000, enrolments=400)
FULL = Sizes(
    people=2_000, runs=3, seconds=15.0, connections=32, gallery=1_000_000, enrolments=2_000
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


def serve(data_dir: Path, port: int) -> None:
    """The server process: the identity router in uvicorn over the prepared database."""
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    from baobab.identity.api import build_router  # noqa: PLC0415
    from baobab.infra.http.app import create_http_app  # noqa: PLC0415

    platform, block = build(settings_for(data_dir, port), load_gallery=False)
    app = create_http_app(
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
    )
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        block.close()
        platform.close()


Request = tuple[bytes, bool | None]  # the bytes to send; the answer expected (None: just 200)


@dataclass
class Load:
    latencies: list[float]
    answered: int
    wrong: list[str]


async def _connection(
    port: int, requests: list[Request], deadline: float, load: Load, seed: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(seed)
    try:
        while time.perf_counter() < deadline:
            request, expected = requests[rng.randrange(len(requests))]
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            load.latencies.append(time.perf_counter() - started)
            load.answered += 1
            ok = head.startswith(b"HTTP/1.1 200")
            if ok and expected is not None:
                ok = json.loads(body).get("authenticated") == expected
            if not ok:
                load.wrong.append(head.split(b"\r\n", 1)[0].decode() + " " + body.decode()[:300])
    finally:
        writer.close()


async def _generate(port: int, requests: list[Request], seconds: float, connections: int) -> Load:
    load = Load([], 0, [])
    deadline = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(port, requests, deadline, load, seed) for seed in range(connections))
    )
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


def _prepare(sizes: Sizes, settings: Settings, port: int) -> tuple[list[Request], int]:
    """Enrol the people and build the requests; returns them and the audit entries so far."""
    platform, block = build(settings, load_gallery=False)
    try:
        migrate.upgrade(platform.db, [*BLOCKS, "identity"])
        agency = register(
            platform, "GOV/NRB/enrolment", scopes=["identity:enrol"], role=Role.ENROLMENT_AGENCY
        )
        bank = register(
            platform, "COM/BANKA/kyc", scopes=["identity:auth"], role=Role.RELYING_PARTY
        )
        caller = f"{settings.instance}/GOV/NRB/enrolment"
        access_token = token(platform, "COM/BANKA/kyc", bank)
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
                requests.append((http_request(port, access_token, body), expected))
        with platform.db.transaction() as connection:
            before = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
        return requests, int(before)
    finally:
        block.close()
        platform.close()


def _drive(
    sizes: Sizes, port: int, requests: list[Request], server: subprocess.Popen[bytes]
) -> Measured:
    """Warm up, then per run: the /health baseline, then authentications."""
    health: list[Request] = [
        (f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(), None)
    ]
    _wait_for(port, server)
    warm = asyncio.run(_generate(port, requests, 1.0, sizes.connections))
    check(not warm.wrong, f"wrong answers: {warm.wrong[:3]}")
    measured = Measured(warm.answered, [], [], [], [])
    for _ in range(sizes.runs):
        started = time.perf_counter()
        base = asyncio.run(_generate(port, health, sizes.seconds / 2, sizes.connections))
        measured.floors.append(base.answered / (time.perf_counter() - started))
        check(not base.wrong, f"health checks failed: {base.wrong[:3]}")
        started = time.perf_counter()
        load = asyncio.run(_generate(port, requests, sizes.seconds, sizes.connections))
        elapsed = time.perf_counter() - started
        check(not load.wrong, f"wrong answers: {load.wrong[:3]}")
        measured.rates.append(load.answered / elapsed)
        ordered = sorted(load.latencies)
        measured.p50s.append(ordered[len(ordered) // 2] * 1000)
        measured.p99s.append(ordered[int(len(ordered) * 0.99)] * 1000)
        measured.answered += load.answered
    return measured


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


def bench_auth(sizes: Sizes, root: Path) -> None:
    port = free_port()
    settings = settings_for(root / "auth", port)
    requests, before = _prepare(sizes, settings, port)
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.identity_auth", "--serve", str(settings.data_dir), str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        measured = _drive(sizes, port, requests, server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    _check_audit(settings, before=before, answered=measured.answered)
    people = len(requests) // 10
    case = f"http,db=sqlite,connections={sizes.connections},factor=demo,identities={people}"
    runs = sizes.runs
    emit(case, "auth_per_s", statistics.median(measured.rates), "1/s", runs, target=1500)
    emit(case, "p50_ms", statistics.median(measured.p50s), "ms", runs)
    emit(case, "p99_ms", statistics.median(measured.p99s), "ms", runs, target=50)
    emit("http,route=/health", "requests_per_s", statistics.median(measured.floors), "1/s", runs)
    ratios = [r / f for r, f in zip(measured.rates, measured.floors, strict=True)]
    emit(case, "ratio_vs_health", statistics.median(ratios), "ratio", runs)


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        check(server.poll() is None, "the server process died")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchFailure("the server did not start within 60 s")


# --- enrolment with deduplication --------------------------------------------------------------


def bench_enrolment(sizes: Sizes, root: Path) -> None:
    settings = settings_for(root / "enrol", free_port())
    platform, block = build(settings, load_gallery=False)
    migrate.upgrade(platform.db, [*BLOCKS, "identity"])
    try:
        agency = register(
            platform, "GOV/NRB/enrolment", scopes=["identity:enrol"], role=Role.ENROLMENT_AGENCY
        )
        caller = f"{settings.instance}/GOV/NRB/enrolment"
        profile = block.profiles.active
        gallery = generate_population(sizes.gallery, seed=11, duplicate_share=0.0)
        started = time.perf_counter()
        kept: list[tuple[str, dict[str, Any]]] = []
        for record in gallery.records:
            demographics = demographics_of(dataclasses.asdict(record))
            if demographics is None:
                continue
            block.finder.add(record.record_id, profile.matching_view(demographics))
            kept.append((record.record_id, demographics))
        built = time.perf_counter() - started
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
        started = time.perf_counter()
        for jws, returning_id in signed:
            t0 = time.perf_counter()
            enrolment = block.enrolment.submit(caller=caller, signed_packet=jws)
            latencies.append(time.perf_counter() - t0)
            outcomes[enrolment.state.value] = outcomes.get(enrolment.state.value, 0) + 1
            if returning_id is not None:
                check(
                    enrolment.state is PacketState.DUPLICATE
                    and enrolment.duplicate_of == returning_id,
                    f"a re-enrolment of {returning_id} came out {enrolment.state}",
                )
        elapsed = time.perf_counter() - started
        check(sum(outcomes.values()) == len(signed), "a packet got no outcome")
        ordered = sorted(latencies)
        case = f"in_process,db=sqlite,gallery={len(kept)},packets={len(signed)},half_duplicates"
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
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return 0
    sizes = QUICK if args.quick else FULL
    if args.gallery:
        sizes = dataclasses.replace(sizes, gallery=args.gallery)
    with tempfile.TemporaryDirectory(prefix="baobab-bench-identity-") as tmp:
        try:
            if not args.skip_auth:
                bench_auth(sizes, Path(tmp))
            if not args.skip_enrolment:
                bench_enrolment(sizes, Path(tmp))
        except BenchFailure as exc:
            print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
