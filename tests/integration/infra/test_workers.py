"""Several server processes on one socket: workers replaced when they die, all stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from baobab.infra.http.server import run_workers

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def wait_until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_that_fails_at_start_stops_the_server() -> None:
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert run_workers(failing, host="127.0.0.1", port=0, workers=2) == 1


def test_a_dead_worker_is_replaced_and_a_signal_stops_them_all() -> None:
    script = (
        "import sys; from baobab.infra.http.server import run_workers; "
        f"sys.exit(run_workers({SLEEPER!r}, host='127.0.0.1', port=0, workers=2, "
        "start_grace=0.2))"
    )
    server = subprocess.Popen([sys.executable, "-c", script])
    try:
        wait_until(lambda: len(children(server.pid)) == 2)
        first = children(server.pid)
        time.sleep(0.3)  # past the start grace
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(server.pid)) == 2 and victim not in children(server.pid))
        workers = children(server.pid)
        assert len(workers - first) == 1
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "Z" in status_of(pid)
    finally:
        if server.poll() is None:
            server.kill()


def status_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
