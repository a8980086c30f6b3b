"""The providers of ``bench.exchange_gateway`` and the requests each case sends them.

**The echo**: a bare ASGI app answering every POST with its body — the cheapest provider there
is, so its ratio is the gateway's worst case.

**The registry**: Baobab's own registries API, on its own database, as the exchange service a
ministry queries. The registry is set up the way an operator would, with the ``baobab`` command
(define the shipped ``social-registry`` schema, grant read rights, import households from a JSON
Lines file), and served by the app factory (``create_app``, registries block only) under
uvicorn. It shares the instance key and public URL of the gateway's instance, so the access
tokens that instance issues verify on it, as they would on any block of one instance.

The registries API asks every caller for a bearer token, and the gateway never passes the
consumer's token on (it is the gateway's credential, not the provider's). So the provider's
system admits the gateway the way the protocol offers any provider
(:func:`baobab.exchange.provider.request_is_signed`): a request that carries the gateway's
signature over exactly this method, path, headers and body is served under the provider
subsystem's own token; one without a signature (a direct call) passes untouched and brings its
own token; one with a signature that does not verify is refused with 401.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baobab.asgi import create_app
from baobab.exchange.provider import request_is_signed
from baobab.infra.settings import Settings
from baobab.kernel.signing import Signer, VerificationKey
from bench.exchange_load import build_request, exchange_once

REGISTRY = "social-registry"
VERSION = "1.0"
SIZES = {"1KB": 1024, "100KB": 100 * 1024}  # the echo's bodies
HOUSEHOLDS = 2_000
BASE_PATH = f"/registries/data/{REGISTRY}/{VERSION}"  # the exchange service's base URL path


@dataclass(frozen=True)
class RegistryProvider:
    """How to start the registry's server (picklable: it crosses into a spawned process).
    ``token`` is the provider subsystem's own access token."""

    data_dir: str
    key_file: str
    public_url: str
    port: int
    http: str
    token: str


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return bytes(body)


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers every POST with its body (a provider that costs as little as possible)."""
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_echo(port: int, http: str) -> None:
    uvicorn.run(
        echo_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=http
    )


# --- the registry ---------------------------------------------------------------------------


def household(number: int) -> dict[str, Any]:
    """The ``number``-th household of the bench's registry (no personal fields)."""
    return {
        "household_id": f"HH-{number:08d}",
        "region": ("North", "South", "Coast", "Lakes")[number % 4],
        "district": f"District {number % 23}",
        "village": f"Village {number % 311}",
        "size": 1 + number % 9,
        "registered_on": f"2025-{1 + number % 12:02d}-{1 + number % 28:02d}",
        "poverty_score": number % 100,
    }


def environment(data_dir: str, key_file: str, public_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BAOBAB_DATA_DIR": data_dir,
        "BAOBAB_SIGNING_KEY_FILE": key_file,
        "BAOBAB_PUBLIC_URL": public_url,
    }


def set_up_registry(data_dir: str, key_file: str, public_url: str, readers: list[str]) -> None:
    """Define the registry, grant ``readers`` (subsystem ids) read, import the households, each
    with the ``baobab`` command on the registry's own database."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(key_file, Path(data_dir) / "instance.jwk")
    own_key = str(Path(data_dir) / "instance.jwk")
    os.chmod(own_key, 0o600)
    env = environment(data_dir, own_key, public_url)
    rows = Path(data_dir) / "households.jsonl"
    rows.write_text("".join(json.dumps(household(n)) + "\n" for n in range(1, HOUSEHOLDS + 1)))
    baobab = [str(Path(sys.executable).parent / "baobab")]  # the command beside this Python
    commands = [
        ["registries", "define", REGISTRY, "--version", VERSION, "--example", REGISTRY],
        *(["registries", "grant", REGISTRY, reader, "--operation", "read"] for reader in readers),
        ["registries", "import", REGISTRY, VERSION, str(rows)],
    ]
    for command in commands:
        done = subprocess.run(
            [*baobab, *command], check=False, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"baobab {' '.join(command)} failed: {done.stdout}{done.stderr}")


def read_request(number: int) -> bytes:
    """The body of ``POST .../read`` asking for one household by its id."""
    return json.dumps({"query": {"content": {"household_id": f"HH-{number:08d}"}}}).encode()


class GatewayAdmission:
    """ASGI front of the provider's system: admits requests the gateway signed (see the module
    docstring)."""

    def __init__(
        self, app: ASGIApp, *, gateway_keys: list[VerificationKey], base_path: str, token: str
    ) -> None:
        self._app = app
        self._keys = gateway_keys
        self._base_path = base_path
        self._authorization = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(
            name == b"x-road-signature" for name, _ in scope["headers"]
        ):
            await self._app(scope, receive, send)
            return
        body = await read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        query = scope["query_string"].decode("latin-1")
        target = path.removeprefix(self._base_path) + (f"?{query}" if query else "")
        if not path.startswith(self._base_path) or not request_is_signed(
            method=scope["method"],
            target=target,
            headers=headers,
            body=body,
            gateway_keys=self._keys,
        ):
            refusal = b'{"error":"not signed by the gateway"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(refusal)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": refusal})
            return
        admitted = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        admitted.append((b"authorization", self._authorization))
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # the disconnect, when it comes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app({**scope, "headers": admitted}, replay, send)


def serve_registry(spec: RegistryProvider) -> None:
    """The registry's server: the registries block behind :class:`GatewayAdmission`."""
    settings = Settings(
        data_dir=Path(spec.data_dir),
        signing_key_file=Path(spec.data_dir) / "instance.jwk",
        public_url=spec.public_url,
        access_token_ttl_seconds=3600,
    )
    gateway = Signer(json.loads(Path(spec.key_file).read_text()))  # the instance's key
    app = GatewayAdmission(
        create_app(settings, blocks=["registries"]),
        gateway_keys=[gateway.verification_key],
        base_path=BASE_PATH,
        token=spec.token,
    )
    uvicorn.run(
        app, host="127.0.0.1", port=spec.port, log_level="warning", access_log=False, http=spec.http
    )


# --- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One provider case: the request, sent directly to the provider and through the gateway."""

    provider: str  # which provider answers: "echo" or "registry"
    label: str  # what is sent: "size=1KB", "read"
    method_path: str  # the provider's path of the request
    service: str  # the exchange service code
    service_path: str  # the same request's path below the service
    body: bytes
    direct_headers: dict[str, str]

    @property
    def content_type(self) -> dict[str, str]:
        return {k: v for k, v in self.direct_headers.items() if k == "Content-Type"}


def cases(providers: list[str], consumer_token: str) -> list[Case]:
    """The cases of ``providers`` (``echo``, ``registry``); ``consumer_token`` reads the registry
    directly."""
    chosen = []
    if "echo" in providers:
        for label, size in SIZES.items():
            body = os.urandom(size)
            chosen.append(Case("echo", f"size={label}", "/echo", "echo", "/echo", body, {}))
    if "registry" in providers:
        chosen.append(
            Case(
                "registry",
                "read",
                f"{BASE_PATH}/read",
                "households",
                "/read",
                read_request(HOUSEHOLDS // 2),
                {"Authorization": f"Bearer {consumer_token}", "Content-Type": "application/json"},
            )
        )
    return chosen


def expected_answer(port: int, case: Case) -> bytes:
    """What every answer to ``case`` must be: the body itself for the echo; for the registry,
    the record as one direct call reads it (checked to be the household asked for)."""
    if case.provider == "echo":
        return case.body

    async def once() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            request = build_request(
                f"127.0.0.1:{port}", case.method_path, case.body, case.direct_headers
            )
            status, _, answer = await exchange_once(reader, writer, request)
            return status, answer
        finally:
            writer.close()

    status, answer = asyncio.run(once())
    asked = json.loads(case.body)["query"]["content"]["household_id"]
    if status != 200 or json.loads(answer).get("content", {}).get("household_id") != asked:
        raise SystemExit(f"the registry did not read {asked}: {status} {answer[:300]!r}")
    return answer
