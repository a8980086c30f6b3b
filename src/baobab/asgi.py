"""The ASGI application: ``create_app(settings)`` mounts every block (or the chosen ones)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from baobab import __version__
from baobab.bootstrap import Platform, bootstrap
from baobab.consent import api as consent_api
from baobab.directory import api as directory_api
from baobab.exchange import api as exchange_api
from baobab.exchange.adapters.metrics import register_metrics
from baobab.identity import api as identity_api
from baobab.infra.http import audit_api
from baobab.infra.http.app import create_http_app
from baobab.infra.settings import BLOCKS, Settings
from baobab.ledger import api as ledger_api
from baobab.registries import api as registries_api
from baobab.switch import api as switch_api


def routers_of(platform: Platform) -> dict[str, APIRouter]:
    """Every mountable router by block name; each router's prefix is ``/<name>``."""
    return {
        # First: FSPIOP traffic is the hottest, and routers are matched in this order.
        "switch": switch_api.build_router(switch=platform.switch, worker=platform.switch.worker),
        "directory": directory_api.build_router(
            instance=platform.settings.instance,
            directory=platform.directory,
            tokens=platform.tokens,
            jwks=[platform.signer.public_jwk()],
        ),
        "consent": consent_api.build_router(consent=platform.consent),
        "exchange": exchange_api.build_router(
            registry=platform.exchange.registry,
            gateway=platform.exchange.gateway,
            log=platform.exchange.log,
            keys=platform.directory,
            discovery=platform.exchange.discovery,
            monitor=platform.exchange.monitor,
            pubsub=platform.exchange.pubsub,
            policy=platform.exchange.policy,
            workers=platform.exchange.workers,
        ),
        "registries": registries_api.build_router(registries=platform.registries),
        "identity": identity_api.build_router(
            enrolment=platform.identity.enrolment,
            identities=platform.identity.identities,
            authentication=platform.identity.authentication,
            profiles=platform.identity.profiles,
            outbox=platform.identity.outbox,
            resident=platform.identity.resident,
        ),
        "ledger": ledger_api.build_router(ledger=platform.ledger, batcher=platform.ledger_batcher),
        "audit": audit_api.build_router(platform.db),
    }


def create_app(
    settings: Settings, *, platform: Platform | None = None, blocks: Sequence[str] | None = None
) -> FastAPI:
    """The HTTP app of ``blocks`` (default: all) over ``platform`` (default: from settings)."""
    platform = platform or bootstrap(settings)
    chosen = set(blocks or (*BLOCKS, "audit"))
    routers = [router for name, router in routers_of(platform).items() if name in chosen]
    metrics = CollectorRegistry()
    register_metrics(metrics, platform.exchange.monitor)
    app = create_http_app(
        title="Baobab",
        version=__version__,
        routers=routers,
        verifier=platform.verifier,
        check_ready=platform.check_ready,
        registry=metrics,
        on_shutdown=[platform.exchange.gateway.aclose],
    )
    app.state.platform = platform
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory baobab.asgi:app_from_environment``: reads BAOBAB_* once."""
    return create_app(Settings())
