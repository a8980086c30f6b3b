"""Exchange fixtures: the exchange's services composed over the test platform's database, clock,
signer and directory, with a consent double and an in-process registry as the provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from baobab.bootstrap import Platform
from baobab.demo.exchange import BIRTHS, registry_app
from baobab.directory import ServiceRef
from baobab.exchange import (
    EXCHANGE_SCOPES,
    ConsentCheck,
    Gateway,
    GatewayLimits,
    MessageLog,
    OperationalMonitor,
    ServiceCatalog,
    ServiceRegistry,
)
from baobab.exchange.adapters.http import HttpxProviderClient
from baobab.exchange.adapters.http1_client import Http1ProviderClient
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.ports import ExchangeUnitOfWork
from baobab.exchange.pubsub import PubSub
from baobab.exchange.rights import AccessPolicy
from baobab.kernel.signing import Signer
from tests.support import Caller, register
from tests.unit.exchange.fakes import FakeConsent

REGISTRY_URL = "http://crvs.test"


@pytest.fixture
def wired(platform: Platform) -> Platform:
    """The platform, whose directory knows the exchange's scopes."""
    assert set(EXCHANGE_SCOPES) <= platform.directory.scopes
    return platform


@dataclass
class Exchange:
    """The exchange's services as bootstrap will wire them, plus the test's parties."""

    platform: Platform
    registry: ServiceRegistry
    log: MessageLog
    gateway: Gateway
    consent: FakeConsent
    monitor: OperationalMonitor
    pubsub: PubSub
    provider: Caller
    ministry: Caller
    policy: AccessPolicy


def build_exchange(
    platform: Platform,
    *,
    transport: httpx.AsyncBaseTransport | None,
    uow: Callable[[], ExchangeUnitOfWork] | None = None,
    limits: GatewayLimits | None = None,
    consent: ConsentCheck | None = None,
    checkpoint_every: int = 1000,
    monitor: OperationalMonitor | None = None,
    policy: AccessPolicy | None = None,
) -> tuple[ServiceRegistry, MessageLog, Gateway]:
    """Compose the exchange over ``platform`` (what bootstrap.py does once wired)."""
    db = platform.db

    def sql_uow() -> ExchangeUnitOfWork:
        return SqlExchangeUnitOfWork(db)

    registry = ServiceRegistry(uow=sql_uow, clock=platform.clock)
    log = MessageLog(
        uow=uow or sql_uow,
        signer=platform.signer,
        clock=platform.clock,
        checkpoint_every=checkpoint_every,
    )
    gateway = Gateway(
        catalog=ServiceCatalog(registry, ttl=0),
        access=platform.directory,
        keys=platform.directory,
        provider=(HttpxProviderClient(transport=transport) if transport else Http1ProviderClient()),
        log=log,
        consent=consent or FakeConsent(),
        signer=platform.signer,
        clock=platform.clock,
        limits=limits or GatewayLimits(decision_ttl=0, max_request_body=64 * 1024),
        observers=[monitor] if monitor else [],
        policy=policy,
    )
    return registry, log, gateway


def parties(platform: Platform, registry: ServiceRegistry) -> tuple[Caller, Caller]:
    """A registry providing ``births`` and a ministry holding the right to call it."""
    provider = register(platform, "GOV/CRVS/registry")
    ministry = register(platform, "GOV/MOSA/benefits", scopes=("exchange:call",))
    registry.register(
        actor="test",
        provider=provider.client_id,
        code="births",
        version="1",
        base_url=REGISTRY_URL,
    )
    platform.directory.grant(
        actor="test", client_id=ministry.client_id, service=ServiceRef(provider.client_id, "births")
    )
    return provider, ministry


def registry_transport(platform: Platform, provider_signer: Signer | None) -> httpx.ASGITransport:
    app = registry_app(
        signer=provider_signer,
        gateway_keys=[platform.signer.verification_key],
        records=BIRTHS,
        clock=platform.clock,
    )
    return httpx.ASGITransport(app=app)


@pytest.fixture
def exchange(wired: Platform) -> Exchange:
    """The exchange over the real registry app (in process), which signs its answers."""
    provider_signer = Signer.generate()
    consent, monitor = FakeConsent(), OperationalMonitor()
    policy = AccessPolicy(
        uow=lambda: SqlExchangeUnitOfWork(wired.db),
        directory=wired.directory,
        clock=wired.clock,
        ttl=0,
    )
    registry, log, gateway = build_exchange(
        wired,
        transport=registry_transport(wired, provider_signer),
        consent=consent,
        monitor=monitor,
        policy=policy,
    )
    provider, ministry = parties(wired, registry)
    wired.directory.add_key(
        actor="test", client_id=provider.client_id, jwk=provider_signer.public_jwk()
    )
    provider = Caller(provider.client_id, provider_signer, provider.token)
    db = wired.db
    pubsub = PubSub(
        uow=lambda: SqlExchangeUnitOfWork(db), access=wired.directory, clock=wired.clock
    )
    return Exchange(
        wired, registry, log, gateway, consent, monitor, pubsub, provider, ministry, policy
    )
