"""The simulated FSP's connection to the hub: a directory access token (OAuth 2.0 client
credentials with ``private_key_jwt``, renewed before it expires) and FSPIOP requests with the
headers the API requires, signed with ``FSPIOP-Signature`` when the scheme asks for it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from baobab.directory import JWT_BEARER, client_assertion
from baobab.fspsim.config import SimulatorConfig
from baobab.infra.http.client import HttpClient
from baobab.kernel.clock import Clock
from baobab.switch.fspiop import outgoing_headers, sign_request
from baobab.switch.fspiop.headers import HTTP_METHOD, SIGNATURE, URI


class Transport(Protocol):
    """Sends one HTTP request; returns (status, body); raises ``OSError`` when it cannot."""

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class HttpTransport:
    """The transport over the platform's HTTP/1.1 client (:mod:`baobab.infra.http.client`)."""

    def __init__(self) -> None:
        self._client = HttpClient()

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        answer = await self._client.request(method, url, headers, body)
        return answer.status, answer.body

    async def aclose(self) -> None:
        await self._client.aclose()


class HubRefused(Exception):
    """The hub answered with an error (an FSPIOP error body, no token), or could not be reached
    (``status`` 0)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"hub answered {status}: {body}")
        self.status = status
        self.body = body

    @property
    def error_code(self) -> str | None:
        info = self.body.get("errorInformation") if isinstance(self.body, dict) else None
        return str(info.get("errorCode")) if isinstance(info, dict) else None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


class HubClient:
    """Sends FSPIOP requests and callbacks to the hub as ``config.fsp_id``."""

    def __init__(
        self, config: SimulatorConfig, *, clock: Clock, transport: Transport | None = None
    ) -> None:
        self.config = config
        self._clock = clock
        self._transport: Transport = transport or HttpTransport()
        self._token: str | None = None
        self._renew_at = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        try:
            return await self._transport.request(method, url, headers, body)
        except (OSError, TimeoutError) as exc:
            raise HubRefused(0, f"cannot reach {url}: {exc!r}") from exc

    async def token(self) -> str:
        """A current access token; a new one is fetched when 80% of its lifetime has passed."""
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._token_lock:
            if self._token is not None and time.monotonic() < self._renew_at:
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": client_assertion(
                    self.config.signer,
                    client_id=self.config.client_id,
                    audience=self.config.token_endpoint,
                    now=self._clock.now(),
                ),
            }
            if self.config.scope:
                form["scope"] = self.config.scope
            started = time.monotonic()
            headers = {"content-type": "application/x-www-form-urlencoded"}
            status, body = await self._exchange(
                "POST", self.config.token_endpoint, headers, urlencode(form).encode()
            )
            if status != 200:
                raise HubRefused(status, _json(body))
            answer = json.loads(body)
            self._token = str(answer["access_token"])
            self._renew_at = started + 0.8 * float(answer.get("expires_in", 60))
            return self._token

    async def send(
        self,
        method: str,
        path: str,
        *,
        resource: str,
        destination: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> int:
        """One FSPIOP request to ``<hub_url><path>``; its status, or :class:`HubRefused` unless
        the hub accepts it (202 for a request, 200 for a callback)."""
        content = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        headers = outgoing_headers(
            resource,
            source=self.config.fsp_id,
            destination=destination,
            at=self._clock.now(),
            has_body=body is not None,
            expects_callback=method in ("GET", "POST"),
        )
        if self.config.sign_requests:
            headers[URI] = path
            headers[HTTP_METHOD] = method
            headers[SIGNATURE] = sign_request(
                self.config.signer, method=method, uri=path, headers=headers, body=content
            )
        url = self.config.hub_base + path
        headers["authorization"] = f"Bearer {await self.token()}"
        status, answer = await self._exchange(method, url, headers, content)
        if status == 401 and self._token is not None:
            self._token = None  # revoked or expired early: one retry with a new token
            headers["authorization"] = f"Bearer {await self.token()}"
            status, answer = await self._exchange(method, url, headers, content)
        if status not in (200, 202):
            raise HubRefused(status, _json(answer))
        return status
