"""Benchmark: access-token issuance and verification (the directory's OAuth 2.0 token service).

Run from the repository root: ``.venv/bin/python -m bench.tokens [--quick]``.

Issuance goes through ``TokenService.issue`` on the full path: claims check of the client
assertion, its signature check with the client's registered key, the replay record (jti), the
audit entry and the durable commit. It runs on SQLite (a temporary directory) and on PostgreSQL
(a fresh database, dropped at the end), for client keys Ed25519 and P-256. Every issuance needs a
new client assertion; they are signed before the timed loop.

Verification goes through ``AccessTokenVerifier.verify`` on one thread: ``cold`` verifies
distinct tokens a fresh verifier has never seen (the cost of the signature check), ``reused``
verifies one token again and again (the verifier remembers a verified token until it expires).
Reference lines: the bare signature check of each curve, and joserfc (already a dependency)
verifying the same cold tokens as a peer.

Every figure is checked: each issued token verifies to its client and scopes, a replayed
assertion and tampered tokens are refused, and the audit chain verifies with exactly the expected
number of entries. Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

from baobab.bootstrap import Platform, bootstrap
from baobab.directory import (
    JWT_BEARER,
    AccessTokenVerifier,
    ClientId,
    InvalidAccessToken,
    OAuthError,
    Role,
    ServiceRef,
    TokenRequest,
    client_assertion,
)
from baobab.infra.audit import verify_audit
from baobab.infra.settings import Settings
from baobab.kernel.principal import Principal
from baobab.kernel.signing import (
    CompactJws,
    Signer,
    VerificationKey,
    b64url,
    b64url_decode,
    parse_compact,
)
from bench.databases import postgres_database

BENCH = "tokens"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CURVES = ("Ed25519", "P-256")
SCOPES = ("directory:read", "audit:read")
PUBLIC_URL = "http://bench.invalid"


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each case does."""

    runs: int
    issue: int  # issuances per timed run
    verify: int  # distinct tokens per cold verification run
    reused: int  # verifications of one token per reused run
    signatures: int  # bare signature checks per run


QUICK = Sizes(runs=3, issue=150, verify=1_000, reused=200_000, signatures=1_000)
FULL = Sizes(runs=5, issue=1_000, verify=5_000, reused=2_000_000, signatures=5_000)


def emit(case: str, metric: str, value: float, runs: int, **extra: float | str) -> None:
    line: dict[str, object] = {
        "bench": BENCH,
        "case": case,
        "metric": metric,
        "value": round(value, 1) if metric.endswith("_per_s") else round(value, 4),
        "unit": "1/s" if metric.endswith("_per_s") else "ratio",
        "runs": runs,
    }
    line.update(extra)
    print(json.dumps(line), flush=True)


def median_rate(runs: list[tuple[int, float]]) -> float:
    """The median of ``count / seconds`` over the timed runs."""
    return statistics.median(count / seconds for count, seconds in runs)


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class Client:
    """A registered subsystem with its private key and the scopes it was granted."""

    client_id: ClientId
    signer: Signer
    scopes: frozenset[str]


@dataclass
class Instance:
    """One platform under test and what the benchmark did to it, for the audit check."""

    platform: Platform
    engine: str
    setup_entries: int = 0
    issued: int = 0
    refused: int = 0
    clients: dict[str, Client] = field(default_factory=dict)


def register(instance: Instance, client_id: str, *, curve: str) -> Client:
    """Member (if new), subsystem, key and rights, as an operator does at the console.

    The same steps as ``tests/support.register``; each step writes one audit entry.
    """
    directory = instance.platform.directory
    cid = ClientId.parse(f"{instance.platform.settings.instance}/{client_id}")
    if not any(m.id == cid.member for m in directory.list_members()):
        directory.add_member(
            actor="bench", member_id=cid.member, name=f"Member {cid.member}", roles=(Role.MINISTRY,)
        )
        instance.setup_entries += 1
    directory.add_subsystem(actor="bench", client_id=cid)
    signer = Signer.generate(curve)
    directory.add_key(actor="bench", client_id=cid, jwk=signer.public_jwk())
    instance.setup_entries += 2
    for scope in SCOPES:
        directory.grant(actor="bench", client_id=cid, service=ServiceRef(None, scope))
        instance.setup_entries += 1
    client = Client(cid, signer, frozenset(SCOPES))
    instance.clients[curve] = client
    return client


def open_instance(engine: str, data_dir: Path, database_url: str | None) -> Instance:
    settings = Settings(data_dir=data_dir, database_url=database_url, public_url=PUBLIC_URL)
    instance = Instance(bootstrap(settings, upgrade=True), engine)
    for curve in CURVES:
        register(instance, f"GOV/MOF/treasury-{curve.lower().replace('-', '')}", curve=curve)
    return instance


# --- issuance --------------------------------------------------------------------------------


def assertions(instance: Instance, client: Client, count: int) -> list[str]:
    """``count`` fresh client assertions (distinct jti), signed ahead of the timed loop."""
    platform = instance.platform
    lifetime = platform.token_policy.max_assertion_lifetime
    now = platform.clock.now()
    return [
        client_assertion(
            client.signer,
            client_id=str(client.client_id),
            audience=platform.settings.token_endpoint,
            now=now,
            lifetime=lifetime,
        )
        for _ in range(count)
    ]


def issue_all(instance: Instance, batch: list[str]) -> tuple[list[str], list[float], float]:
    """Issue one token per assertion; return the tokens, each call's latency and the total."""
    issue = instance.platform.tokens.issue
    tokens: list[str] = []
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    for assertion in batch:
        before = clock()
        issued = issue(TokenRequest("client_credentials", JWT_BEARER, assertion))
        latencies.append(clock() - before)
        tokens.append(issued.access_token)
    elapsed = clock() - started
    instance.issued += len(batch)
    return tokens, latencies, elapsed


def fresh_verifier(platform: Platform) -> AccessTokenVerifier:
    """A verifier with an empty cache, configured as ``bootstrap`` configures the platform's."""
    return AccessTokenVerifier(
        keys=[platform.signer.verification_key], policy=platform.token_policy, clock=platform.clock
    )


def check_tokens(platform: Platform, client: Client, tokens: list[str]) -> None:
    """Every token verifies to its client and the client's granted scopes; all are distinct."""
    check(len(set(tokens)) == len(tokens), "two issuances returned the same token")
    verifier = fresh_verifier(platform)
    for token in tokens:
        principal = verifier.verify(token)
        check(
            principal.client_id == str(client.client_id),
            f"token for {client.client_id} verified as {principal.client_id}",
        )
        check(
            principal.scopes == client.scopes,
            f"token scopes {sorted(principal.scopes)} != granted {sorted(client.scopes)}",
        )
        check(Role.MINISTRY in principal.roles, "the member's role is missing from the token")


def check_replay_refused(instance: Instance, client: Client) -> None:
    """An assertion used once more is refused (and the refusal audited)."""
    replayed = assertions(instance, client, 1)[0]
    instance.platform.tokens.issue(TokenRequest("client_credentials", JWT_BEARER, replayed))
    instance.issued += 1
    try:
        instance.platform.tokens.issue(TokenRequest("client_credentials", JWT_BEARER, replayed))
    except OAuthError as refusal:
        instance.refused += 1
        check(
            refusal.code == "directory.client_assertion_replayed",
            f"a replayed assertion was refused as {refusal.code}",
        )
    else:
        raise BenchFailure("a replayed client assertion was accepted")


def bench_issuance(instance: Instance, sizes: Sizes) -> None:
    for curve in CURVES:
        client = instance.clients[curve]
        case = f"db={instance.engine},client_key={curve}"
        warm, _, _ = issue_all(instance, assertions(instance, client, max(20, sizes.issue // 5)))
        check_tokens(instance.platform, client, warm)
        runs: list[tuple[int, float]] = []
        latencies: list[float] = []
        for _ in range(sizes.runs):
            batch = assertions(instance, client, sizes.issue)
            tokens, run_latencies, elapsed = issue_all(instance, batch)
            check_tokens(instance.platform, client, tokens)
            runs.append((len(tokens), elapsed))
            latencies += run_latencies
        emit(
            case,
            "tokens_issued_per_s",
            median_rate(runs),
            len(runs),
            p50_ms=percentile_ms(latencies, 0.50),
            p95_ms=percentile_ms(latencies, 0.95),
            p99_ms=percentile_ms(latencies, 0.99),
        )
        check_replay_refused(instance, client)


def check_audit(instance: Instance) -> None:
    count, broken = verify_audit(instance.platform.db)
    check(broken is None, f"{instance.engine}: the audit chain is broken: {broken}")
    expected = instance.setup_entries + instance.issued + instance.refused
    check(
        count == expected,
        f"{instance.engine}: {count} audit entries, expected {expected} "
        f"({instance.setup_entries} set-up + {instance.issued} issued "
        f"+ {instance.refused} refused)",
    )


# --- verification ----------------------------------------------------------------------------


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = work()
    return count, time.perf_counter() - started


def interleaved(
    works: dict[str, Callable[[], int]], runs: int
) -> dict[str, list[tuple[int, float]]]:
    """One warm-up of each, then ``runs`` rounds running each once, so that every ratio compares
    runs made within the same few seconds on this shared machine."""
    for work in works.values():
        work()
    timings: dict[str, list[tuple[int, float]]] = {name: [] for name in works}
    for _ in range(runs):
        for name, work in works.items():
            timings[name].append(timed(work))
    return timings


def signature_check(key: VerificationKey, jws: CompactJws, count: int) -> Callable[[], int]:
    """``count`` bare signature checks: no parsing, no claims, no cache."""
    signing_input, signature, verify = jws.signing_input, jws.signature, key.verify
    check(verify(signing_input, signature), "the reference signature does not verify")

    def work() -> int:
        for _ in range(count):
            verify(signing_input, signature)
        return count

    return work


def bench_verification(instance: Instance, sizes: Sizes) -> None:
    platform = instance.platform
    client = instance.clients["Ed25519"]
    tokens, _, _ = issue_all(instance, assertions(instance, client, sizes.verify))
    check_tokens(platform, client, tokens)
    curve = "P-256" if platform.signer.alg == "ES256" else "Ed25519"
    other_curve = "Ed25519" if curve == "P-256" else "P-256"
    other = Signer.generate(other_curve)
    other_jws = parse_compact(other.encode({"sub": "reference"}, typ="at+jwt"))

    # cold: a fresh verifier per run, so every token is one it has not seen
    principals: list[Principal] = []

    def cold() -> int:
        verify = fresh_verifier(platform).verify
        principals[:] = [verify(token) for token in tokens]
        return len(tokens)

    # peer: joserfc, already a dependency, verifying the same cold tokens (signature + iss/aud/exp)
    public = ECKey.import_key(platform.signer.public_jwk())  # type: ignore[arg-type]
    claims_registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": platform.token_policy.issuer},
        aud={"essential": True, "value": platform.token_policy.audience},
        exp={"essential": True},
    )

    def peer() -> int:
        for each in tokens:
            decoded = jwt.decode(each, public, algorithms=[platform.signer.alg])
            claims_registry.validate(decoded.claims)
        return len(tokens)

    timings = interleaved(
        {
            "instance": signature_check(
                platform.signer.verification_key, parse_compact(tokens[0]), sizes.signatures
            ),
            "other": signature_check(other.verification_key, other_jws, sizes.signatures),
            "cold": cold,
            "peer": peer,
        },
        sizes.runs,
    )
    check(
        [p.client_id for p in principals] == [str(client.client_id)] * len(tokens),
        "a cold verification returned the wrong client",
    )
    rates = {name: median_rate(runs) for name, runs in timings.items()}
    runs = sizes.runs
    emit(f"curve={curve},key=instance", "signature_verifications_per_s", rates["instance"], runs)
    reference = f"curve={other_curve},key=reference"
    emit(reference, "signature_verifications_per_s", rates["other"], runs)
    emit("cold", "token_verifications_per_s", rates["cold"], runs, instance_key=curve)
    emit("cold", "ratio_vs_signature", ratio(timings["cold"], timings["instance"]), runs)
    emit("cold,peer=joserfc", "token_verifications_per_s", rates["peer"], runs)
    emit("cold", "ratio_vs_joserfc", ratio(timings["cold"], timings["peer"]), runs)

    # reused: one token, verified again and again by the same verifier
    verifier = fresh_verifier(platform)
    token = tokens[0]
    first = verifier.verify(token)

    def reused(verify: Callable[[str], Principal] = verifier.verify) -> int:
        for _ in range(sizes.reused):
            verify(token)
        return sizes.reused

    reused_runs = interleaved({"reused": reused}, runs)["reused"]
    check(verifier.verify(token) is first, "a reused token was not served from the cache")
    emit("reused", "token_verifications_per_s", median_rate(reused_runs), runs)

    check_tampering(platform, verifier, token)


def ratio(runs: list[tuple[int, float]], baseline: list[tuple[int, float]]) -> float:
    """The median over rounds of (rate / baseline rate), each pair measured back to back."""
    return statistics.median(
        (count / seconds) / (base_count / base_seconds)
        for (count, seconds), (base_count, base_seconds) in zip(runs, baseline, strict=True)
    )


def check_tampering(platform: Platform, verifier: AccessTokenVerifier, token: str) -> None:
    """A token with a changed payload or signature is refused, even by a verifier that has
    seen (and cached) the genuine one."""
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["scope"] = "directory:admin " + claims["scope"]
    forged_payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    flipped = "A" if signature[0] != "A" else "B"
    someone_else = Signer.generate("P-256")
    tampered = {
        "changed payload": f"{header}.{forged_payload}.{signature}",
        "changed signature": f"{header}.{payload}.{flipped}{signature[1:]}",
        "signed by another key": someone_else.encode(claims, typ="at+jwt"),
    }
    for verifier_name, each_verifier in (("warm", verifier), ("fresh", fresh_verifier(platform))):
        for what, forged in tampered.items():
            try:
                each_verifier.verify(forged)
            except InvalidAccessToken:
                continue
            raise BenchFailure(f"a token with a {what} was accepted ({verifier_name} verifier)")


# --- main ------------------------------------------------------------------------------------


def run(sizes: Sizes, *, postgres_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="baobab-bench-") as tmp:
        sqlite = open_instance("sqlite", Path(tmp) / "sqlite", None)
        try:
            bench_issuance(sqlite, sizes)
            bench_verification(sqlite, sizes)
            check_audit(sqlite)
        finally:
            sqlite.platform.close()
        if postgres_url is None:
            return
        with postgres_database(postgres_url) as url:
            postgres = open_instance("postgresql", Path(tmp) / "postgresql", url)
            try:
                bench_issuance(postgres, sizes)
                check_audit(postgres)
            finally:
                postgres.platform.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tokens", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the PostgreSQL cases (SQLite only)"
    )
    args = parser.parse_args(argv)
    postgres_url = None
    if not args.no_postgres:
        postgres_url = os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        run(QUICK if args.quick else FULL, postgres_url=postgres_url)
    except BenchFailure as failure:
        print(f"bench.tokens: WRONG RESULT: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
