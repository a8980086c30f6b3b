"""The embedded stack for the demo: a real uvicorn server on a free local port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from baobab.asgi import create_app
from baobab.bootstrap import Platform, bootstrap
from baobab.infra.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_stack(settings: Settings) -> Iterator[Platform]:
    """Serve every block of ``settings`` over HTTP until the block ends."""
    platform = bootstrap(settings)
    config = uvicorn.Config(
        create_app(settings, platform=platform),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="baobab-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the embedded server did not start")
        time.sleep(0.02)
    try:
        yield platform
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.close()
