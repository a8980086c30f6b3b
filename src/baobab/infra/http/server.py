"""Running an ASGI app in uvicorn, as ``baobab serve`` does (and ``bench/http_stack.py``), in one
process or in several that share one listening socket."""

from __future__ import annotations

import gc
import logging
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

_log = logging.getLogger(__name__)
# A worker that ends sooner than this after its start failed to start: starting it again would
# only fail again, so the whole server stops.
START_GRACE = 10.0


def run_server(application: ASGIApp, *, host: str, port: int, fd: int | None = None) -> None:
    """Serve ``application`` until stopped, on ``host``:``port`` or on the listening socket
    inherited as file descriptor ``fd``. Logging is configured already, and uvicorn's own access
    log stays off: the app writes one JSON line per request itself."""
    gc.freeze()  # what start-up built lives as long as the process: keep it out of collections
    config = uvicorn.Config(application, host=host, port=port, log_config=None, access_log=False)
    sockets = None if fd is None else [socket.socket(fileno=fd)]
    uvicorn.Server(config).run(sockets=sockets)


def run_workers(
    command: Sequence[str],
    *,
    host: str,
    port: int,
    workers: int,
    start_grace: float = START_GRACE,
) -> int:
    """Listen on ``host``:``port`` and run ``workers`` processes ``command + ["--fd", N]``
    that all accept from that one socket; returns the exit code for the whole server.

    A worker that dies is replaced (its requests in progress are lost to their callers, who
    resend); one that dies within ``start_grace`` seconds of its start, or any signal to stop
    (SIGTERM, SIGINT), stops them all: each finishes its requests in progress (uvicorn's
    graceful shutdown) before the server exits.
    """
    if workers < 1:
        raise ValueError("need at least one worker")
    listener = socket.create_server((host, port), backlog=2048)
    listener.set_inheritable(True)
    argv = [*command, "--fd", str(listener.fileno())]
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    started: dict[int, tuple[subprocess.Popen[bytes], float]] = {}

    def start() -> None:
        child = subprocess.Popen(argv, pass_fds=(listener.fileno(),))  # noqa: S603 - our own command
        started[child.pid] = (child, time.monotonic())

    code = 0
    try:
        for _ in range(workers):
            start()
        _log.info("serving on %s:%d with %d workers", host, port, workers)
        while not stopping:
            time.sleep(0.2)
            for pid, (child, since) in list(started.items()):
                status = child.poll()
                if status is None:
                    continue
                del started[pid]
                if time.monotonic() - since < start_grace:
                    _log.error("worker %d ended at start (exit %d); stopping", pid, status)
                    stopping.append(0)
                    code = 1
                    break
                _log.warning("worker %d ended (exit %d); starting another", pid, status)
                start()
    finally:
        for child, _ in started.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child, _ in started.values():
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
