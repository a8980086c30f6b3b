"""The gateway's message path over hand-written fakes: the signed, bound, logged answer, and
every way a message is refused — each refusal logged, a message that cannot be logged refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from baobab.directory import ClientId, PublicKey, ServiceRef
from baobab.directory.domain import KeyStatus
from baobab.exchange import (
    ConsumerCall,
    Gateway,
    GatewayAnswer,
    GatewayLimits,
    OperationalMonitor,
    ServiceCatalog,
    ServiceRegistry,
)
from baobab.exchange.domain import (
    REQUEST_JWS_TYPE,
    RESPONSE_JWS_TYPE,
    ProviderTimeout,
    ProviderUnreachable,
    ResponseTooLarge,
    content_hash,
    verify_detached,
)
from baobab.exchange.ports import ProviderRequest
from baobab.exchange.provider import request_is_signed, response_headers
from baobab.kernel.clock import ManualClock
from baobab.kernel.signing import Signer
from tests.unit.exchange.fakes import (
    FakeConsent,
    FakeDirectory,
    FakeLog,
    FakeUnitOfWork,
    ScriptedProvider,
    _State,
)

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CLIENT = ClientId.parse("DEV/GOV/MOSA/benefits")
PROVIDER = ClientId.parse("DEV/GOV/CRVS/registry")


@dataclass
class Kit:
    registry: ServiceRegistry
    directory: FakeDirectory
    provider: ScriptedProvider
    log: FakeLog
    consent: FakeConsent
    signer: Signer
    provider_signer: Signer
    gateway: Gateway
    clock: ManualClock


@pytest.fixture
def kit() -> Kit:
    state = _State()
    clock = ManualClock(START)
    registry = ServiceRegistry(uow=lambda: FakeUnitOfWork(state), clock=clock)
    registry.register(
        actor="test", provider=PROVIDER, code="births", version="1", base_url="http://crvs.test"
    )
    registry.register(
        actor="test",
        provider=PROVIDER,
        code="persons",
        version="1",
        base_url="http://crvs.test",
        personal_data=True,
        agreement_id="agr-1",
        purposes=["benefit-eligibility"],
    )
    directory = FakeDirectory()
    directory.rights |= {(CLIENT, ServiceRef(PROVIDER, "births"))}
    directory.rights |= {(CLIENT, ServiceRef(PROVIDER, "persons"))}
    provider_signer = Signer.generate()
    directory.keys[PROVIDER] = [
        PublicKey(
            provider_signer.kid,
            PROVIDER,
            provider_signer.verification_key.public,
            provider_signer.alg,
            KeyStatus.ACTIVE,
            START,
        )
    ]
    provider, log, consent, signer = ScriptedProvider(), FakeLog(), FakeConsent(), Signer.generate()
    gateway = Gateway(
        catalog=ServiceCatalog(registry, ttl=0),
        access=directory,
        keys=directory,
        provider=provider,
        log=log,
        consent=consent,
        signer=signer,
        clock=clock,
        limits=GatewayLimits(max_request_body=1024, decision_ttl=0),
    )
    return Kit(registry, directory, provider, log, consent, signer, provider_signer, gateway, clock)


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), 100):
        yield body[i : i + 100]


def call(
    kit: Kit,
    *,
    claimed: str | None = str(CLIENT),
    code: str = "births",
    method: str = "GET",
    target: str = "/births/B-1",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> GatewayAnswer:
    all_headers = {"x-road-id": "case-1", **(headers or {})}
    if claimed is not None:
        all_headers["x-road-client"] = claimed
    return asyncio.run(
        kit.gateway.exchange(
            ConsumerCall(
                client_id=str(CLIENT),
                claimed_client=claimed,
                provider=PROVIDER,
                service_code=code,
                method=method,
                target=target,
                headers=all_headers,
                body=_chunks(body),
            )
        )
    )


def refused(kit: Kit, answer: GatewayAnswer, code: str, outcome: str = "refused") -> None:
    assert answer.error is not None
    assert answer.error.code == code
    assert answer.headers["X-Road-Error"] == code
    assert answer.headers["X-Road-Request-Id"] == answer.message_id
    record = kit.log.records[-1]
    assert (record.message_id, record.outcome, record.error) == (answer.message_id, outcome, code)


def test_a_granted_call_is_forwarded_signed_bound_and_logged(kit: Kit) -> None:
    answer = call(kit, method="POST", target="/echo?x=1", body=b'{"q":1}')
    assert answer.error is None
    assert (answer.status, answer.body) == (200, b'{"ok":true}')
    sent = kit.provider.requests[0]
    assert sent.url == "http://crvs.test/echo?x=1"
    assert "authorization" not in sent.headers
    assert request_is_signed(
        method="POST",
        target="/echo?x=1",
        headers=sent.headers,
        body=b'{"q":1}',
        gateway_keys=[kit.signer.verification_key],
    )
    record = kit.log.records[0]
    assert record.outcome == "ok"
    assert record.client == str(CLIENT)
    assert record.request is not None
    assert record.response is not None
    assert answer.headers["X-Road-Request-Hash"] == content_hash(record.request)
    assert record.response["request_hash"] == record.request_hash
    assert verify_detached(
        answer.headers["X-Road-Signature"],
        record.response,
        [kit.signer.verification_key],
        typ=RESPONSE_JWS_TYPE,
    )
    assert verify_detached(
        str(record.request_signature),
        record.request,
        [kit.signer.verification_key],
        typ=REQUEST_JWS_TYPE,
    )
    assert "/echo" not in str(record.payload())  # digests only, never the path in clear


def test_the_signature_covers_the_body(kit: Kit) -> None:
    call(kit, method="POST", target="/echo", body=b"one")
    sent = kit.provider.requests[0]
    assert not request_is_signed(
        method="POST",
        target="/echo",
        headers=sent.headers,
        body=b"two",
        gateway_keys=[kit.signer.verification_key],
    )


def _sign_as(
    signer: Signer, clock: ManualClock
) -> Callable[[ProviderRequest, int, bytes], dict[str, str]]:
    def sign(request: ProviderRequest, status: int, body: bytes) -> dict[str, str]:
        return response_headers(
            signer,
            request_headers=request.headers,
            status=status,
            content_type="application/json",
            body=body,
            now=clock.now(),
        )

    return sign


def test_a_signing_provider_is_verified_and_its_signature_kept(kit: Kit) -> None:
    kit.provider.sign = _sign_as(kit.provider_signer, kit.clock)
    answer = call(kit)
    assert answer.error is None
    assert kit.log.records[0].provider_signature is not None


def test_a_provider_signature_by_an_unknown_key_is_refused(kit: Kit) -> None:
    kit.provider.sign = _sign_as(Signer.generate(), kit.clock)
    answer = call(kit)
    refused(kit, answer, "exchange.bad_response_signature", "failed")
    assert answer.body == b""


def test_a_provider_signature_over_another_body_is_refused(kit: Kit) -> None:
    kit.provider.sign = _sign_as(kit.provider_signer, kit.clock)
    kit.provider.extra_headers = {}
    signed_for_other = kit.provider.sign

    def sign_other(request: ProviderRequest, status: int, body: bytes) -> dict[str, str]:
        return signed_for_other(request, status, b'{"ok":false}')

    kit.provider.sign = sign_other
    refused(kit, call(kit), "exchange.bad_response_signature", "failed")


def test_a_revoked_provider_key_is_refused(kit: Kit) -> None:
    kit.provider.sign = _sign_as(kit.provider_signer, kit.clock)
    key = kit.directory.keys[PROVIDER][0]
    kit.directory.keys[PROVIDER] = [key.revoke(at=START)]
    refused(kit, call(kit), "exchange.bad_response_signature", "failed")


def test_a_response_bound_to_another_request_is_refused(kit: Kit) -> None:
    kit.provider.extra_headers = {"x-road-request-hash": "A" * 43}
    answer = call(kit)
    refused(kit, answer, "exchange.request_hash_mismatch", "failed")
    assert answer.body == b""


def test_a_signed_response_to_another_request_is_refused(kit: Kit) -> None:
    sign = _sign_as(kit.provider_signer, kit.clock)

    def sign_other(request: ProviderRequest, status: int, body: bytes) -> dict[str, str]:
        other = {**request.headers, "x-road-request-hash": "B" * 43}
        return sign(ProviderRequest(request.method, request.url, other, b""), status, body)

    kit.provider.sign = sign_other
    refused(kit, call(kit), "exchange.request_hash_mismatch", "failed")


def test_a_call_without_client_header_is_refused(kit: Kit) -> None:
    refused(kit, call(kit, claimed=None), "exchange.missing_client")
    assert kit.provider.requests == []


def test_a_client_header_naming_another_subsystem_is_refused(kit: Kit) -> None:
    refused(kit, call(kit, claimed="DEV/GOV/MOF/treasury"), "exchange.client_mismatch")
    assert kit.provider.requests == []


def test_an_unknown_service_is_refused(kit: Kit) -> None:
    refused(kit, call(kit, code="deaths"), "exchange.unknown_service")


def test_a_call_without_the_right_is_refused(kit: Kit) -> None:
    kit.directory.rights.clear()
    refused(kit, call(kit), "directory.access_denied")
    assert kit.provider.requests == []


def test_a_disabled_service_is_refused(kit: Kit) -> None:
    kit.registry.set_enabled(actor="t", provider=PROVIDER, code="births", enabled=False)
    refused(kit, call(kit), "exchange.service_disabled")


def test_a_body_over_the_limit_is_refused_as_it_streams(kit: Kit) -> None:
    refused(kit, call(kit, method="POST", body=b"x" * 1025), "exchange.body_too_large")
    declared = call(kit, method="POST", headers={"content-length": "5000"}, body=b"")
    refused(kit, declared, "exchange.body_too_large")
    assert kit.provider.requests == []


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (ProviderTimeout("slow"), "exchange.provider_timeout"),
        (ProviderUnreachable("down"), "exchange.provider_unreachable"),
        (ResponseTooLarge("big"), "exchange.response_too_large"),
        (RuntimeError("bug"), "exchange.gateway_fault"),
    ],
)
def test_provider_failures_are_refused_and_logged(kit: Kit, failure: Exception, code: str) -> None:
    kit.provider.failure = failure
    answer = call(kit)
    refused(kit, answer, code, "failed")
    assert answer.headers["X-Road-Request-Hash"] == kit.log.records[-1].request_hash


def test_a_message_that_cannot_be_logged_is_refused(kit: Kit) -> None:
    kit.log.broken = True
    answer = call(kit)
    assert answer.error is not None
    assert answer.error.code == "exchange.message_log_unavailable"
    assert answer.body == b""
    assert answer.status == 0
    kit.provider.failure = ProviderTimeout("slow")  # a refusal that cannot be logged, too
    assert call(kit).headers["X-Road-Error"] == "exchange.message_log_unavailable"


def _personal(kit: Kit, **headers: str) -> GatewayAnswer:
    return call(kit, code="persons", target="/persons/tok-1", headers=headers)


def test_personal_data_needs_subject_and_purpose(kit: Kit) -> None:
    refused(kit, _personal(kit), "exchange.consent_required")
    assert kit.consent.queries == []


def test_personal_data_for_an_unoffered_purpose_is_refused(kit: Kit) -> None:
    answer = _personal(kit, **{"x-consent-subject": "tok-1", "x-consent-purpose": "marketing"})
    refused(kit, answer, "exchange.consent_refused")


def test_personal_data_without_consent_is_refused(kit: Kit) -> None:
    headers = {"x-consent-subject": "tok-1", "x-consent-purpose": "benefit-eligibility"}
    refused(kit, _personal(kit, **headers), "exchange.consent_refused")
    assert kit.consent.queries[0].agreement_id == "agr-1"
    assert kit.consent.queries[0].recipient == str(CLIENT)
    assert kit.provider.requests == []


def test_personal_data_with_consent_passes(kit: Kit) -> None:
    kit.consent.allowed.add(("tok-1", "benefit-eligibility", str(CLIENT)))
    headers = {"x-consent-subject": "tok-1", "x-consent-purpose": "benefit-eligibility"}
    assert _personal(kit, **headers).error is None


def test_a_failing_consent_check_refuses(kit: Kit) -> None:
    kit.consent.allowed.add(("tok-1", "benefit-eligibility", str(CLIENT)))
    kit.consent.broken = True
    headers = {"x-consent-subject": "tok-1", "x-consent-purpose": "benefit-eligibility"}
    refused(kit, _personal(kit, **headers), "exchange.consent_refused")


def test_positive_decisions_are_cached_for_their_ttl() -> None:
    state = _State()
    clock = ManualClock(START)
    ticks = [0.0]
    registry = ServiceRegistry(uow=lambda: FakeUnitOfWork(state), clock=clock)
    registry.register(
        actor="t", provider=PROVIDER, code="births", version="1", base_url="http://crvs.test"
    )
    directory = FakeDirectory()
    directory.rights.add((CLIENT, ServiceRef(PROVIDER, "births")))
    gateway = Gateway(
        catalog=ServiceCatalog(registry, ttl=1.0, monotonic=lambda: ticks[0]),
        access=directory,
        keys=directory,
        provider=ScriptedProvider(),
        log=FakeLog(),
        consent=FakeConsent(),
        signer=Signer.generate(),
        clock=clock,
        limits=GatewayLimits(decision_ttl=1.0),
        monotonic=lambda: ticks[0],
    )

    def once() -> GatewayAnswer:
        headers = {"x-road-client": str(CLIENT)}
        call_ = ConsumerCall(
            str(CLIENT), str(CLIENT), PROVIDER, "births", "GET", "/", headers, _chunks(b"")
        )
        return asyncio.run(gateway.exchange(call_))

    assert once().error is None
    assert once().error is None
    assert directory.access_checks == 1
    directory.rights.clear()
    ticks[0] = 1.5  # past the TTL: the revoked right is seen
    assert once().headers["X-Road-Error"] == "directory.access_denied"


def test_observers_see_every_answer_and_the_log_refusal(kit: Kit) -> None:
    monitor = OperationalMonitor()
    kit.gateway._observers = (monitor,)
    call(kit)
    kit.directory.rights.clear()
    call(kit)
    kit.log.broken = True
    call(kit)
    (stats,) = monitor.snapshot()
    assert stats.outcomes == {"ok": 1, "refused": 2}
    assert stats.errors == {"directory.access_denied": 1, "exchange.message_log_unavailable": 1}
