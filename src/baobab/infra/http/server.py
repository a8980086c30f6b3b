"""Running an ASGI app in uvicorn, as ``baobab serve`` does (and ``bench/http_stack.py``)."""

from __future__ import annotations

import gc

import uvicorn
from starlette.types import ASGIApp


def run_server(application: ASGIApp, *, host: str, port: int) -> None:
    """Serve ``application`` until stopped. Logging is configured already, and uvicorn's own
    access log stays off: the app writes one JSON line per request itself."""
    gc.freeze()  # what start-up built lives as long as the process: keep it out of collections
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)
