"""Chapter: data exchange. A civil registry offers a ``births`` service through the gateway; the
Ministry of Social Affairs, granted the right, queries it and gets a signed answer bound to its
request; a subsystem without the right is refused (and the refusal is logged too); a statistics
office, put in an access group, may read one endpoint and nothing else until the right is revoked;
the message's evidence bundle is exported and verified offline; the message log verifies.

The registry here is a small ASGI app of its own (:func:`registry_app`), served on a free local
port as a member's system would be: it checks the gateway's request signature and signs its
answers with its own key, registered in the directory.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from baobab.bootstrap import Platform
from baobab.demo.client import SubsystemClient
from baobab.demo.console import register_at_console
from baobab.demo.stack import free_port
from baobab.demo.story import Story, answer, expect
from baobab.directory import Role
from baobab.exchange import verify_bundle
from baobab.exchange.provider import request_is_signed, response_headers
from baobab.kernel.clock import Clock, SystemClock
from baobab.kernel.signing import Signer, VerificationKey

OPERATOR = "GOV/OPS/exchange-admin"
REGISTRY = "GOV/CRVS/registry"
MINISTRY = "GOV/MOSA/benefits"
OUTSIDER = "COM/ADCO/marketing"
STATISTICS = "GOV/NSO/census"
BIRTHS = {
    "B-2025-000117": {"certificate": "B-2025-000117", "born": "2025-03-02", "district": "North"},
    "B-2025-000342": {"certificate": "B-2025-000342", "born": "2025-06-21", "district": "Coast"},
}


def registry_app(
    *,
    signer: Signer | None,
    gateway_keys: Sequence[VerificationKey],
    records: Mapping[str, Mapping[str, Any]],
    clock: Clock | None = None,
) -> Starlette:
    """A registry answering ``GET /births/{certificate}`` and ``POST /echo``; it refuses
    requests the gateway did not sign (when ``gateway_keys`` is given) and signs its answers
    (when ``signer`` is given)."""
    clock = clock or SystemClock()

    async def respond(request: Request, status: int, payload: Any) -> Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        content_type = "application/json"
        headers = {"content-type": content_type}
        lower = {k.lower(): v for k, v in request.headers.items()}
        if signer is not None:
            headers = response_headers(
                signer,
                request_headers=lower,
                status=status,
                content_type=content_type,
                body=body,
                now=clock.now(),
            )
        return Response(body, status_code=status, headers=headers)

    async def checked(request: Request) -> bytes | None:
        body = await request.body()
        if not gateway_keys:
            return body
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = request_is_signed(
            method=request.method,
            target=target,
            headers=headers,
            body=body,
            gateway_keys=gateway_keys,
        )
        return body if signed else None

    async def birth(request: Request) -> Response:
        if await checked(request) is None:
            return await respond(request, 401, {"error": "request not signed by the gateway"})
        record = records.get(request.path_params["certificate"])
        if record is None:
            return await respond(request, 404, {"error": "no such certificate"})
        return await respond(request, 200, dict(record))

    async def echo(request: Request) -> Response:
        body = await checked(request)
        if body is None:
            return await respond(request, 401, {"error": "request not signed by the gateway"})
        return await respond(request, 200, body)

    return Starlette(
        routes=[
            Route("/births/{certificate}", birth, methods=["GET"]),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="demo-registry", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the registry did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ExchangeChapter:
    """The steps of the chapter: an operator, the registry, the ministry and an outsider."""

    def __init__(self, platform: Platform, registry_url: str, registry_signer: Signer) -> None:
        self.platform = platform
        self.instance = platform.settings.instance
        self.registry_url = registry_url
        self.registry_signer = registry_signer

        def client(name: str) -> SubsystemClient:
            return SubsystemClient(
                base_url=platform.settings.public_url,
                client_id=f"{self.instance}/{name}",
                signer=Signer.generate(),
                clock=platform.clock,
            )

        self.operator = client(OPERATOR)
        self.ministry = client(MINISTRY)
        self.outsider = client(OUTSIDER)
        self.statistics = client(STATISTICS)
        self.message_id = ""
        self.evidence = b""

    def close(self) -> None:
        for c in (self.operator, self.ministry, self.outsider, self.statistics):
            c.close()

    def members(self) -> str:
        register_at_console(
            self.platform.directory,
            self.operator.client_id,
            name="Exchange operations",
            role=Role.OPERATOR,
            jwk=self.operator.signer.public_jwk(),
            scopes=["exchange:admin", "exchange:read", "directory:admin"],
        )
        register_at_console(
            self.platform.directory,
            f"{self.instance}/{REGISTRY}",
            name="Civil Registration and Vital Statistics",
            role=Role.REGISTRY_OWNER,
            jwk=self.registry_signer.public_jwk(),
            scopes=[],
        )
        register_at_console(
            self.platform.directory,
            self.ministry.client_id,
            name="Ministry of Social Affairs",
            role=Role.MINISTRY,
            jwk=self.ministry.signer.public_jwk(),
            scopes=["exchange:call"],
        )
        register_at_console(
            self.platform.directory,
            self.outsider.client_id,
            name="AdCo Ltd",
            role=Role.RELYING_PARTY,
            jwk=self.outsider.signer.public_jwk(),
            scopes=["exchange:call"],
        )
        register_at_console(
            self.platform.directory,
            self.statistics.client_id,
            name="National Statistics Office",
            role=Role.MINISTRY,
            jwk=self.statistics.signer.public_jwk(),
            scopes=["exchange:call"],
        )
        for who in (self.operator, self.ministry, self.outsider, self.statistics):
            answer(who.request_token(), 200)
        return (
            "registry (signs its answers), ministry, statistics office and an outsider registered"
        )

    def register_service(self) -> str:
        service = {
            "provider": f"{self.instance}/{REGISTRY}",
            "service_code": "births",
            "version": "1",
            "base_url": self.registry_url,
            "description": "Birth certificates by number",
        }
        answer(self.operator.call("POST", "/exchange/services", json=service), 201)
        rights = f"/directory/subsystems/{self.ministry.client_id}/rights"
        body = {"service": "births", "provider": f"{self.instance}/{REGISTRY}"}
        answer(self.operator.call("POST", rights, json=body), 201)
        return f"{self.instance}/{REGISTRY}/births registered; only the ministry holds a right"

    def _gateway(self, who: SubsystemClient, certificate: str) -> httpx.Response:
        path = f"/exchange/r1/{self.instance}/{REGISTRY}/births/births/{certificate}"
        return who.call(
            "GET",
            path,
            headers={"X-Road-Client": who.client_id, "X-Road-Id": "case-2026-0042"},
        )

    def query(self) -> str:
        response = self._gateway(self.ministry, "B-2025-000117")
        record = answer(response, 200)
        expect(record["district"] == "North", f"unexpected answer {record}")
        self.message_id = response.headers["X-Road-Request-Id"]
        expect("X-Road-Signature" in response.headers, "the answer is not signed")
        request_hash = response.headers["X-Road-Request-Hash"]
        return f"200 OK, signed; message {self.message_id[:13]}…, request hash {request_hash[:12]}…"

    def refused(self) -> str:
        response = self._gateway(self.outsider, "B-2025-000117")
        expect(response.status_code == 403, f"the outsider was not refused: {response.text}")
        error = response.headers.get("X-Road-Error")
        spoof = self.outsider.call(
            "GET",
            f"/exchange/r1/{self.instance}/{REGISTRY}/births/births/B-2025-000117",
            headers={"X-Road-Client": self.ministry.client_id},
        )
        expect(spoof.status_code == 401, "a caller naming another subsystem was not refused")
        return (
            f"outsider without the right: {response.status_code} {error}; "
            f"posing as the ministry: {spoof.status_code} {spoof.headers.get('X-Road-Error')}"
        )

    def group_right(self) -> str:
        group = {"code": "official-statistics", "description": "Producers of official statistics"}
        answer(self.operator.call("POST", "/exchange/groups", json=group), 201)
        member = f"/exchange/groups/official-statistics/members/{self.statistics.client_id}"
        answer(self.operator.call("PUT", member), 200)
        right = {
            "subject": "group:official-statistics",
            "provider": f"{self.instance}/{REGISTRY}",
            "service_code": "births",
            "method": "GET",
            "path": "/births/*",
        }
        granted = answer(self.operator.call("POST", "/exchange/rights", json=right), 201)
        read = self._gateway(self.statistics, "B-2025-000342")
        expect(read.status_code == 200, f"the group right did not open GET: {read.text}")
        path = f"/exchange/r1/{self.instance}/{REGISTRY}/births/echo"
        other = self.statistics.call(
            "POST", path, json={}, headers={"X-Road-Client": self.statistics.client_id}
        )
        expect(other.status_code == 403, f"another endpoint was not refused: {other.text}")
        revoke = self.operator.call("DELETE", f"/exchange/rights/{granted['right_id']}")
        expect(revoke.status_code == 204, f"the right was not revoked: {revoke.text}")
        after = self._gateway(self.statistics, "B-2025-000342")
        expect(after.status_code == 403, "a revoked right still opened the endpoint")
        return (
            "group right on GET /births/*: read 200, POST /echo 403; "
            f"after revocation {after.status_code} {after.headers.get('X-Road-Error')}"
        )

    def export_evidence(self) -> str:
        response = self.operator.call("GET", f"/exchange/messages/{self.message_id}/evidence")
        expect(response.status_code == 200, f"no evidence: {response.text}")
        self.evidence = response.content
        report = verify_bundle(self.evidence, trusted_kid=self.platform.signer.kid)
        expect(report.valid, f"the evidence does not verify: {report.checks}")
        tampered = bytearray(self.evidence)
        tampered[len(tampered) // 2] ^= 0x01
        expect(not verify_bundle(bytes(tampered)).valid, "a changed bundle still verified")
        return (
            f"{len(self.evidence)} bytes; {len(report.checks)} offline checks pass; "
            "one byte changed fails"
        )

    def verify_log(self) -> str:
        verdict = answer(self.operator.call("GET", "/exchange/log/verify"), 200)
        expect(verdict["intact"], f"the message log is reported broken: {verdict}")
        return f"{verdict['entries']} entries and {verdict['checkpoints']} checkpoint(s) intact"


def chapter(story: Story, platform: Platform) -> None:
    """Run the data exchange chapter against the running stack."""
    story.chapter("Data exchange", "a registry answers a ministry through the gateway")
    registry_signer = Signer.generate()
    app = registry_app(
        signer=registry_signer,
        gateway_keys=[platform.signer.verification_key],
        records=BIRTHS,
        clock=platform.clock,
    )
    with serving(app) as registry_url:
        steps = ExchangeChapter(platform, registry_url, registry_signer)
        try:
            story.step("Register the registry, a ministry and an outsider", steps.members)
            story.step("The registry's service and the ministry's right", steps.register_service)
            story.step("The ministry queries the registry", steps.query)
            story.step("Calls without the right are refused", steps.refused)
            story.step("A group right opens one endpoint, until revoked", steps.group_right)
            story.step("Export and verify the evidence bundle", steps.export_evidence)
            story.step("The message log verifies", steps.verify_log)
        finally:
            steps.close()
