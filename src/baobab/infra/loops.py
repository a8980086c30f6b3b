"""The event loop Baobab runs its own asyncio threads on: uvloop's where it is installed (as
uvicorn serves HTTP on it), the standard library's otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

try:
    import uvloop
except ImportError:  # not on Windows
    new_event_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
else:
    new_event_loop = uvloop.new_event_loop

__all__ = ["new_event_loop"]
