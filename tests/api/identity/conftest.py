"""The identity router in an app of its own over the test platform, with the consent double of
the identity stack, so tests can say yes or no for the person."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.directory import Role
from baobab.identity.api import build_router
from baobab.infra.http.app import create_http_app
from tests.integration.identity.conftest import enroller, finder, stack, wired
from tests.integration.identity.people import agency, relying_party
from tests.integration.identity.stack import IdentityStack
from tests.support import Caller, register

__all__ = ["enroller", "finder", "stack", "wired"]


@pytest.fixture
def identity_api(wired: Platform, stack: IdentityStack) -> Iterator[TestClient]:
    router = build_router(
        enrolment=stack.enrolment,
        identities=stack.identities,
        authentication=stack.auth,
        profiles=stack.profiles,
        outbox=stack.outbox,
        resident=stack.block.resident,
    )
    app = create_http_app(
        title="Baobab identity",
        version="test",
        routers=[router],
        verifier=wired.verifier,
        check_ready=lambda: None,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def nrb(wired: Platform) -> Caller:
    return agency(wired)


@pytest.fixture
def bank(wired: Platform) -> Caller:
    return relying_party(wired)


@pytest.fixture
def operator(wired: Platform) -> Caller:
    return register(
        wired,
        "GOV/OPS/identity",
        scopes=("identity:admin", "identity:review"),
        roles=(Role.OPERATOR,),
    )
