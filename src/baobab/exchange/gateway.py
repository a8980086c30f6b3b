"""The gateway: one consumer call in, one logged, signed answer out — or a logged refusal.

For every message: the caller's ``X-Road-Client`` must be the subsystem its token names; the
service must be registered and enabled; the directory must hold the caller's right on it (deny by
default); a service carrying personal data needs the Consent block's yes; the body must fit the
limit. The gateway then signs the request on the member's behalf, forwards it with a timeout,
checks that the answer is bound to the request (and the provider's signature, when it signs),
signs the answer, and makes the log entry durable before the answer leaves. Whatever fails on
the way refuses the message — and a message whose log entry cannot be written is refused too.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baobab.directory import ClientId, PublicKey
from baobab.exchange.domain import (
    REQUEST_JWS_TYPE,
    RESPONSE_JWS_TYPE,
    BadResponseSignature,
    BodyTooLarge,
    ClientMismatch,
    ConsentRefused,
    ConsentRequired,
    MessageLogUnavailable,
    MessageRecord,
    MissingClientHeader,
    Outcome,
    RequestHashMismatch,
    Service,
    ServiceDisabled,
    digest,
    request_content,
    response_content,
    sign_detached,
    verify_detached,
)
from baobab.exchange.ports import (
    AccessRights,
    ConsentCheck,
    ConsentQuery,
    KeyDirectory,
    MessageLogWriter,
    MessageObserver,
    ProviderClient,
    ProviderRequest,
)
from baobab.exchange.rights import AccessPolicy
from baobab.exchange.services import ServiceCatalog
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError, Unavailable
from baobab.kernel.hashchain import canonical_json
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer, VerificationKey, import_public_jwk

# consumer headers passed on to the provider (besides the X-Road ones the gateway sets)
_FORWARDED = ("content-type", "accept", "accept-language")
# provider headers never passed back: hop-by-hop, framing, and the provider's own X-Road ones
_NOT_RETURNED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-authenticate",
        "proxy-connection",
        "server",
        "date",
    }
)


class GatewayFault(Unavailable):
    code = "exchange.gateway_fault"
    title = "The gateway failed to handle the message"


@dataclass(frozen=True, slots=True)
class GatewayLimits:
    """Size limits (bytes) and the provider timeout (seconds); cache lifetimes (seconds) of
    positive access decisions and provider keys (0: ask the directory every time)."""

    max_request_body: int = 10 * 1024 * 1024
    max_response_body: int = 10 * 1024 * 1024
    timeout: float = 30.0
    decision_ttl: float = 1.0


@dataclass(frozen=True, slots=True)
class ConsumerCall:
    """One call as the HTTP layer hands it over. ``client_id`` is the token's subsystem,
    ``claimed_client`` what the caller named in ``X-Road-Client``; ``target`` is the
    service-relative path with its query; ``headers`` have lower-case names."""

    client_id: str
    claimed_client: str | None
    provider: ClientId
    service_code: str
    method: str
    target: str
    headers: Mapping[str, str]
    body: AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    """The answer to the consumer: the provider's (signed by the gateway), or a refusal with
    ``error`` set. ``headers`` always hold ``X-Road-Request-Id``."""

    message_id: str
    status: int
    headers: dict[str, str]
    body: bytes
    error: BaobabError | None = None


@dataclass
class _Message:
    """What is known of a message so far, for the log whatever happens."""

    message_id: str
    x_road_id: str | None
    request: dict[str, Any] | None = None
    request_signature: str | None = None
    request_hash: str | None = None
    response: dict[str, Any] | None = None
    response_signature: str | None = None
    provider_signature: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_body: bytes | None = None


class _TtlCache:
    """Values kept for ``ttl`` seconds of the monotonic clock."""

    def __init__(self, ttl: float, monotonic: Callable[[], float]) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._values: dict[Any, tuple[Any, float]] = {}

    def get(self, key: Any) -> Any:
        found = self._values.get(key)
        if found is not None and found[1] > self._monotonic():
            return found[0]
        return None

    def put(self, key: Any, value: Any) -> None:
        if self._ttl > 0:
            if len(self._values) > 10_000:
                self._values.clear()
            self._values[key] = (value, self._monotonic() + self._ttl)


class Gateway:
    """The information mediator's message path."""

    def __init__(
        self,
        *,
        catalog: ServiceCatalog,
        access: AccessRights,
        keys: KeyDirectory,
        provider: ProviderClient,
        log: MessageLogWriter,
        consent: ConsentCheck,
        signer: Signer,
        clock: Clock,
        limits: GatewayLimits | None = None,
        observers: Sequence[MessageObserver] = (),
        monotonic: Callable[[], float] = time.monotonic,
        policy: AccessPolicy | None = None,
        keep_bodies: bool = False,
    ) -> None:
        self._catalog = catalog
        self._access = access
        self._keys = keys
        self._provider = provider
        self._log = log
        self._consent = consent
        self._signer = signer
        self._clock = clock
        self.limits = limits or GatewayLimits()
        self._observers = tuple(observers)
        self._policy = policy
        self._keep_bodies = keep_bodies
        self._decisions = _TtlCache(self.limits.decision_ttl, monotonic)
        self._provider_keys = _TtlCache(self.limits.decision_ttl, monotonic)

    async def aclose(self) -> None:
        """Close the provider connections this gateway pools (at the app's shutdown)."""
        await self._provider.aclose()

    async def exchange(self, call: ConsumerCall) -> GatewayAnswer:
        """Mediate one call; never raises for a refusal, answers it (logged) instead."""
        started = time.perf_counter()
        received_at = self._clock.now()
        message = _Message(new_id(), call.headers.get("x-road-id"))
        service_name = f"{call.provider}/{call.service_code}"
        error: BaobabError | None = None
        try:
            await self._mediate(call, message)
        except BaobabError as exc:
            error = exc
        except Exception as exc:  # a fault of ours still refuses (and logs) the message
            error = GatewayFault("the gateway failed to handle the message")
            error.__cause__ = exc
        outcome = (
            Outcome.OK
            if error is None
            else Outcome.FAILED
            if isinstance(error, Unavailable)
            else Outcome.REFUSED
        )
        record = MessageRecord(
            message_id=message.message_id,
            client=call.client_id,
            service=service_name,
            received_at=received_at,
            finished_at=self._clock.now(),
            outcome=outcome,
            error=error.code if error else None,
            http_status=message.status if error is None else None,
            x_road_id=message.x_road_id,
            request=message.request,
            request_signature=message.request_signature,
            request_hash=message.request_hash,
            response=message.response,
            response_signature=message.response_signature,
            provider_signature=message.provider_signature,
            duration_ms=(time.perf_counter() - started) * 1000,
            request_body=message.request_body if self._keep_bodies else None,
            response_body=message.body if self._keep_bodies and error is None else None,
        )
        try:
            await self._log.append(record)
        except MessageLogUnavailable as exc:
            self._observe(record, exc.code)
            return self._refusal(message, exc)
        self._observe(record, None)
        if error is not None:
            return self._refusal(message, error)
        return GatewayAnswer(
            message.message_id, message.status or 502, message.headers, message.body
        )

    def _observe(self, record: MessageRecord, error: str | None) -> None:
        for observer in self._observers:
            observer.observe(record, error=error)

    def _refusal(self, message: _Message, error: BaobabError) -> GatewayAnswer:
        headers = {"X-Road-Request-Id": message.message_id, "X-Road-Error": error.code}
        if message.request_hash:
            headers["X-Road-Request-Hash"] = message.request_hash
        return GatewayAnswer(message.message_id, 0, headers, b"", error)

    async def _mediate(self, call: ConsumerCall, message: _Message) -> None:
        if not call.claimed_client:
            raise MissingClientHeader("name the calling subsystem in X-Road-Client")
        if call.claimed_client != call.client_id:
            raise ClientMismatch(
                f"X-Road-Client {call.claimed_client!r} is not the token's {call.client_id!r}"
            )
        service = self._catalog.cached(call.provider, call.service_code)
        if service is None:
            service = await asyncio.to_thread(self._catalog.get, call.provider, call.service_code)
        if not service.enabled:
            raise ServiceDisabled(f"{service.name} is disabled")
        await self._check_access(_client_of(call.client_id), service, call)
        if service.personal_data:
            await self._check_consent(call, service)
        body = await _read_limited(call.body, call.headers, self.limits.max_request_body)
        message.request_body = body
        await self._forward(call, service, body, message)

    async def _check_access(self, client: ClientId, service: Service, call: ConsumerCall) -> None:
        """A directory right on the whole service, or an endpoint or group right of the
        exchange's policy; deny by default."""
        key = (client, service.ref)
        if self._decisions.get(key):
            return
        if self._policy is not None:
            method, path = call.method.upper(), call.target.split("?", 1)[0]
            args = (client, service.ref, method, path)
            if self._policy.fresh():
                allowed = self._policy.allows(*args)
            else:
                allowed = await asyncio.to_thread(self._policy.allows, *args)
            if allowed:
                return
        await asyncio.to_thread(self._access.check_access, client, service.ref)
        self._decisions.put(key, True)

    async def _check_consent(self, call: ConsumerCall, service: Service) -> None:
        individual = call.headers.get("x-consent-subject")
        purpose = call.headers.get("x-consent-purpose")
        if not individual or not purpose:
            raise ConsentRequired(
                f"{service.name} carries personal data: send X-Consent-Subject and "
                "X-Consent-Purpose"
            )
        if purpose not in service.purposes:
            raise ConsentRefused(f"{service.name} is not offered for the purpose {purpose!r}")
        query = ConsentQuery(individual, str(service.agreement_id), purpose, call.client_id)
        try:
            answer = await asyncio.to_thread(self._consent.check, query)
        except Exception as exc:  # the consent service failing is a refusal, never a pass
            raise ConsentRefused("the consent check could not be made") from exc
        if not answer.allowed:
            raise ConsentRefused(f"no consent for this exchange ({answer.reason})")

    async def _forward(
        self, call: ConsumerCall, service: Service, body: bytes, message: _Message
    ) -> None:
        iat = int(self._clock.now().timestamp())
        message.request = request_content(
            message_id=message.message_id,
            client=call.client_id,
            service=service.name,
            method=call.method,
            target=call.target,
            headers=call.headers,
            body_digest=digest(body),
        )
        encoded = canonical_json(message.request)
        message.request_signature = sign_detached(
            self._signer, message.request, typ=REQUEST_JWS_TYPE, iat=iat, encoded=encoded
        )
        request_hash = message.request_hash = digest(encoded)
        outbound = {
            name: call.headers[name]
            for name in (*_FORWARDED, "x-road-id", "x-road-userid", "x-road-issue")
            if name in call.headers
        }
        outbound.update(
            {
                "x-road-client": call.client_id,
                "x-road-service": service.name,
                "x-road-request-id": message.message_id,
                "x-road-request-hash": request_hash,
                "x-road-signature": message.request_signature,
            }
        )
        answer = await self._provider.send(
            ProviderRequest(call.method.upper(), service.base_url + call.target, outbound, body),
            timeout=self.limits.timeout,
            max_body=self.limits.max_response_body,
        )
        claimed_hash = answer.headers.get("x-road-request-hash")
        if claimed_hash is not None and claimed_hash != request_hash:
            raise RequestHashMismatch("the provider answered a different request")
        message.response = response_content(
            message_id=message.message_id,
            request_hash=request_hash,
            status=answer.status,
            headers=answer.headers,
            body_digest=digest(answer.body),
        )
        provider_signature = answer.headers.get("x-road-signature")
        if provider_signature is not None:
            keys = await self._usable_keys(service.provider)
            if (
                verify_detached(provider_signature, message.response, keys, typ=RESPONSE_JWS_TYPE)
                is None
            ):
                raise BadResponseSignature(
                    "the provider's signature does not verify over this response to this request"
                )
            message.provider_signature = provider_signature
        message.response_signature = sign_detached(
            self._signer, message.response, typ=RESPONSE_JWS_TYPE, iat=iat
        )
        message.status = answer.status
        message.body = answer.body
        headers = {k: v for k, v in answer.headers.items() if k not in _NOT_RETURNED}
        headers = {k: v for k, v in headers.items() if not k.startswith("x-road-")}
        headers.update(
            {
                "X-Road-Request-Id": message.message_id,
                "X-Road-Request-Hash": request_hash,
                "X-Road-Signature": message.response_signature,
                "X-Road-Client": call.client_id,
                "X-Road-Service": service.name,
            }
        )
        if message.x_road_id:
            headers["X-Road-Id"] = message.x_road_id
        message.headers = headers

    async def _usable_keys(self, provider: ClientId) -> Sequence[VerificationKey]:
        cached = self._provider_keys.get(provider)
        if cached is not None:
            return list(cached)
        stored: Sequence[PublicKey] = await asyncio.to_thread(self._keys.keys_of, provider)
        now = self._clock.now()
        keys = [import_public_jwk(k.published()) for k in stored if k.usable_at(now)]
        self._provider_keys.put(provider, tuple(keys))
        return keys


@functools.lru_cache(maxsize=4096)
def _client_of(client_id: str) -> ClientId:
    """The caller's subsystem (parsed once per caller: the same few call again and again)."""
    return ClientId.parse(client_id)


async def _read_limited(
    chunks: AsyncIterator[bytes], headers: Mapping[str, str], limit: int
) -> bytes:
    """The body, read as it streams in; refused as soon as it passes ``limit`` bytes."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is larger than the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is larger than the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
