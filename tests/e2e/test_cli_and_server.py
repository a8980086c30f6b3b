"""As a user would: the real `baobab` command and a real server process on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baobab.demo.client import SubsystemClient
from baobab.demo.stack import free_port
from baobab.kernel.clock import SystemClock
from baobab.kernel.signing import Signer

pytestmark = pytest.mark.e2e
BAOBAB = str(Path(sys.executable).parent / "baobab")


def baobab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BAOBAB, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return {
        **os.environ,
        "BAOBAB_DATA_DIR": str(tmp_path / "var"),
        "BAOBAB_PORT": str(port),
        "BAOBAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COLUMNS": "200",
    }


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    base = env["BAOBAB_PUBLIC_URL"]
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen([BAOBAB, "serve"], env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_demo_runs_and_passes() -> None:
    result = subprocess.run(
        [BAOBAB, "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "steps went as expected" in result.stdout
    assert "✘" not in result.stdout


def test_administer_with_the_cli_and_call_the_server(
    env: dict[str, str], server: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "treasury.jwk"
    assert (
        baobab(
            env, "members", "add", "GOV/MOF", "--name", "Ministry of Finance", "--role", "ministry"
        ).returncode
        == 0
    )
    duplicate = baobab(env, "members", "add", "GOV/MOF", "--name", "Again")
    assert duplicate.returncode == 1
    assert "directory.duplicate_member" in duplicate.stderr
    assert baobab(env, "members", "subsystem", "GOV/MOF/treasury").returncode == 0
    keygen = baobab(env, "members", "keygen", str(key_file))
    assert keygen.returncode == 0
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert (
        baobab(env, "members", "keys", "GOV/MOF/treasury", "--add", str(key_file)).returncode == 0
    )
    assert baobab(env, "members", "grant", "GOV/MOF/treasury", "directory:read").returncode == 0
    unknown_scope = baobab(env, "members", "grant", "GOV/MOF/treasury", "ledger:steal")
    assert unknown_scope.returncode == 1
    assert "directory.unknown_scope" in unknown_scope.stderr
    listing = baobab(env, "members", "list")
    assert "DEV/GOV/MOF" in listing.stdout
    assert "treasury" in listing.stdout

    signer = Signer(json.loads(key_file.read_text()))
    client = SubsystemClient(
        base_url=server, client_id="DEV/GOV/MOF/treasury", signer=signer, clock=SystemClock()
    )
    try:
        assert client.request_token(scope="directory:read").status_code == 200
        members = client.call("GET", "/directory/members")
        assert members.status_code == 200
        assert [m["member_id"] for m in members.json()] == ["DEV/GOV/MOF"]
        assert client.call("POST", "/directory/members", json={}).status_code == 403
    finally:
        client.close()

    verified = baobab(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact" in verified.stdout


def test_production_refuses_development_settings(env: dict[str, str]) -> None:
    result = baobab({**env, "BAOBAB_ENVIRONMENT": "production"}, "db", "upgrade")
    assert result.returncode != 0
    assert "BAOBAB_SIGNING_KEY_FILE" in result.stdout + result.stderr


def test_several_workers_serve_one_port_and_stop_together(
    env: dict[str, str], tmp_path: Path
) -> None:
    base = env["BAOBAB_PUBLIC_URL"]
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [BAOBAB, "serve", "--workers", "2"], env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 60
        workers: set[str] = set()
        while len(workers) < 2:
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            workers = set(children.read_text().split()) if children.exists() else set()
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        answered = 0
        while answered < 20:
            try:  # a new connection each time: any worker may take it
                answered += httpx.get(f"{base}/ready").status_code == 200
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
        assert not any(Path(f"/proc/{pid}/cmdline").exists() for pid in workers)
    finally:
        if process.poll() is None:
            process.kill()
