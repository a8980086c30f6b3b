"""The exchange's router in an app of its own over the test platform, beside the directory's
(rights are granted there), with the in-process registry app as the provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from baobab.directory import api as directory_api
from baobab.exchange import Discovery
from baobab.exchange import api as exchange_api
from baobab.exchange.adapters.metrics import register_metrics
from baobab.infra.http.app import create_http_app
from tests.integration.exchange.conftest import Exchange, exchange, wired

__all__ = ["exchange", "wired"]


@pytest.fixture
def xapi(exchange: Exchange) -> Iterator[TestClient]:
    platform = exchange.platform
    routers = [
        directory_api.build_router(
            instance=platform.settings.instance,
            directory=platform.directory,
            tokens=platform.tokens,
            jwks=[platform.signer.public_jwk()],
        ),
        exchange_api.build_router(
            registry=exchange.registry,
            gateway=exchange.gateway,
            log=exchange.log,
            keys=platform.directory,
            discovery=Discovery(
                registry=exchange.registry, directory=platform.directory, policy=exchange.policy
            ),
            monitor=exchange.monitor,
            pubsub=exchange.pubsub,
            policy=exchange.policy,
        ),
    ]
    registry = CollectorRegistry()
    register_metrics(registry, exchange.monitor)
    app = create_http_app(
        title="Baobab exchange",
        version="test",
        routers=routers,
        verifier=platform.verifier,
        check_ready=lambda: None,
        registry=registry,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
