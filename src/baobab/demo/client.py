"""A small client of Baobab's HTTP API as a member's system would write it: it holds the
subsystem's private key and gets its own access tokens with ``private_key_jwt``."""

from __future__ import annotations

from typing import Any

import httpx

from baobab.directory import JWT_BEARER, client_assertion
from baobab.kernel.clock import Clock
from baobab.kernel.signing import Signer


class SubsystemClient:
    """Calls Baobab as ``client_id``, signing its token requests with ``signer``."""

    def __init__(self, *, base_url: str, client_id: str, signer: Signer, clock: Clock) -> None:
        self.client_id = client_id
        self.signer = signer
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self._base_url, timeout=10)
        self.token: str | None = None

    def assertion(self) -> str:
        return client_assertion(
            self.signer,
            client_id=self.client_id,
            audience=f"{self._base_url}/directory/oauth2/token",
            now=self._clock.now(),
        )

    def request_token(
        self, *, scope: str | None = None, assertion: str | None = None
    ) -> httpx.Response:
        """POST to the token endpoint; remembers the token on success."""
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion or self.assertion(),
        }
        if scope is not None:
            form["scope"] = scope
        response = self.http.post("/directory/oauth2/token", data=form)
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An API call with the current access token (none if there is none)."""
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def close(self) -> None:
        self.http.close()
