"""As an operator would: the real `baobab fsp-sim` command, from a configuration file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from baobab.demo.stack import free_port
from baobab.kernel.clock import SystemClock
from baobab.kernel.signing import Signer
from baobab.switch.fspiop import outgoing_headers

pytestmark = pytest.mark.e2e
BAOBAB = str(Path(sys.executable).parent / "baobab")
CONFIG = """
fsp_id = "bankb"
client_id = "DEV/FSP/BANKB/switch"
hub_url = "http://127.0.0.1:9/switch"
key_file = "bankb.jwk"
currency = "XOF"
control_token = "let-me-in"

[[parties]]
type = "MSISDN"
id = "22507000001"
name = "Awa Kone"
"""


def test_the_simulator_serves_from_its_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "bankb.jwk").write_text(json.dumps(Signer.generate().private_jwk()))
    config = tmp_path / "bankb.toml"
    config.write_text(CONFIG)
    port = free_port()
    log = tmp_path / "sim.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [BAOBAB, "fsp-sim", "--config", str(config), "--port", str(port)],
            stdout=sink,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/sim/journal")
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        assert httpx.get(f"{base}/sim/journal").status_code == 401
        journal = httpx.get(f"{base}/sim/journal", headers={"authorization": "Bearer let-me-in"})
        assert journal.json() == {"received": [], "failures": []}
        unsigned = httpx.get(f"{base}/parties/MSISDN/22507000001")
        assert unsigned.status_code == 400
        assert unsigned.json()["errorInformation"]["errorCode"] == "3102"
        headers = outgoing_headers(
            "parties",
            source="hub",
            destination="bankb",
            at=SystemClock().now(),
            has_body=False,
            expects_callback=True,
        )
        assert httpx.get(f"{base}/parties/MSISDN/22507000001", headers=headers).status_code == 202
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_command_refuses_an_incomplete_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [BAOBAB, "fsp-sim", "--fsp-id", "bankb"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--hub-url" in done.stderr
