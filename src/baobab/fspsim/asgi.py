"""The little HTTP the simulated FSP needs, straight on ASGI: one request read whole (path
segments, lower-case headers, query, body) and one answer sent in two messages.

Why not a web framework: the simulator answers a handful of fixed routes, and a framework's
routing, middleware and request objects cost more CPU per message than the simulator's own work;
in the switch's end-to-end benchmark that CPU is taken from the hub on the same machine.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1024 * 1024  # an FSPIOP message or a control request is a few KB at most


class BodyTooLarge(Exception):
    """The request body is larger than :data:`MAX_BODY`."""


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request: ``segments`` of the path (``/quotes/1`` -> ``("quotes", "1")``),
    ``headers`` with lower-case names (the last of a repeated one wins)."""

    method: str
    segments: tuple[str, ...]
    headers: dict[str, str]
    query_string: bytes
    body: bytes

    def query(self, name: str) -> str | None:
        """The last value of query parameter ``name``, if given."""
        found = None
        for key, value in parse_qsl(self.query_string.decode("latin-1")):
            if key == name:
                found = value
        return found

    def json(self) -> Any:
        """The body as JSON; raises ValueError if it is not."""
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: its status and JSON body (None: no body)."""

    status: int
    body: Any = None

    def content(self) -> bytes:
        """The body as compact UTF-8 JSON (empty when there is none)."""
        if self.body is None:
            return b""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


async def read_call(scope: Scope, receive: Receive) -> Call:
    """The request of an ``http`` scope, its body read whole (:class:`BodyTooLarge` past
    :data:`MAX_BODY`)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    headers = {name.decode("latin-1").lower(): value.decode("latin-1")
               for name, value in scope["headers"]}  # fmt: skip
    segments = tuple(scope["path"].strip("/").split("/"))
    return Call(scope["method"], segments, headers, scope.get("query_string", b""), body)


_JSON = (b"content-type", b"application/json")


async def send_answer(send: Send, answer: Answer) -> None:
    """Send ``answer``: its JSON body, or none."""
    content = answer.content()
    headers = [(b"content-length", b"%d" % len(content))]
    if answer.body is not None:
        headers.append(_JSON)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
