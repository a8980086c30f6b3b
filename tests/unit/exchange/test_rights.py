"""Endpoint rights and access groups: path patterns, the policy's decisions, and the gateway
passing a call only within a right (deny by default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from baobab.directory import ClientId, ServiceRef
from baobab.exchange import (
    ConsumerCall,
    Gateway,
    GatewayAnswer,
    GatewayLimits,
    ServiceCatalog,
    UnknownService,
)
from baobab.exchange.rights import (
    AccessPolicy,
    DisabledGroupMember,
    DuplicateRight,
    EndpointRight,
    UnknownGroup,
    UnknownGroupMember,
)
from baobab.exchange.services import ServiceRegistry
from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import InvalidInput
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
OTHER = ClientId.parse("DEV/GOV/MOF/treasury")
PROVIDER = ClientId.parse("DEV/GOV/CRVS/registry")
BIRTHS = ServiceRef(PROVIDER, "births")


def right(method: str, path: str, subject: str = str(CLIENT)) -> EndpointRight:
    return EndpointRight("r-1", subject, BIRTHS, method, path, START)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/births/*", "/births/B-1", True),
        ("/births/*", "/births/B-1/parents", False),
        ("/births/*", "/births", False),
        ("/births/**", "/births", True),
        ("/births/**", "/births/B-1/parents", True),
        ("/births/**", "/birthsX", False),
        ("/**", "/anything/at/all", True),
        ("/births", "/births", True),
        ("/births", "/births/", False),
        ("/births/", "/births/", True),
        ("/a.b/*", "/aXb/1", False),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert right("GET", pattern).matches("GET", path) is matches


def test_method_is_matched_unless_any() -> None:
    assert right("GET", "/**").matches("get", "/x")
    assert not right("GET", "/**").matches("POST", "/x")
    assert right("*", "/**").matches("DELETE", "/x")


@pytest.mark.parametrize(
    ("method", "path", "subject"),
    [
        ("FETCH", "/x", str(CLIENT)),
        ("GET", "x", str(CLIENT)),
        ("GET", "/**/x", str(CLIENT)),
        ("GET", "/a b", str(CLIENT)),
        ("GET", "/x", "group:Bad Code"),
        ("GET", "/x", "not-a-client"),
    ],
)
def test_bad_rights_are_refused(method: str, path: str, subject: str) -> None:
    with pytest.raises(InvalidInput):  # InvalidRight, or the directory's InvalidIdentifier
        right(method, path, subject)


@pytest.fixture
def state() -> _State:
    state = _State()
    registry = ServiceRegistry(uow=lambda: FakeUnitOfWork(state), clock=ManualClock(START))
    registry.register(
        actor="t", provider=PROVIDER, code="births", version="1", base_url="http://crvs.test"
    )
    return state


@pytest.fixture
def members() -> FakeDirectory:
    directory = FakeDirectory()
    directory.subsystems = {CLIENT: True, OTHER: True}
    return directory


@pytest.fixture
def policy(state: _State, members: FakeDirectory) -> AccessPolicy:
    return AccessPolicy(
        uow=lambda: FakeUnitOfWork(state), directory=members, clock=ManualClock(START), ttl=60
    )


def test_a_group_right_reaches_its_members_only(policy: AccessPolicy, state: _State) -> None:
    policy.create_group(actor="ops", code="social", description="social protection")
    policy.grant(actor="ops", subject="group:social", service=BIRTHS, method="GET", path="/b/*")
    assert not policy.allows(CLIENT, BIRTHS, "GET", "/b/1")
    policy.set_member(actor="ops", code="social", client=CLIENT, member=True)
    assert policy.allows(CLIENT, BIRTHS, "GET", "/b/1")
    assert not policy.allows(OTHER, BIRTHS, "GET", "/b/1")
    assert not policy.allows(CLIENT, BIRTHS, "POST", "/b/1")
    assert not policy.allows(CLIENT, ServiceRef(PROVIDER, "deaths"), "GET", "/b/1")
    policy.set_member(actor="ops", code="social", client=CLIENT, member=False)
    assert not policy.allows(CLIENT, BIRTHS, "GET", "/b/1")
    actions = [event.action for event, _ in state.audit]
    assert actions == [
        "exchange.service_registered",
        "exchange.group_created",
        "exchange.right_granted",
        "exchange.group_member_added",
        "exchange.group_member_removed",
    ]


def test_only_enabled_subsystems_of_the_directory_join_a_group(
    policy: AccessPolicy, members: FakeDirectory, state: _State
) -> None:
    policy.create_group(actor="ops", code="social")
    stranger = ClientId.parse("DEV/GOV/MOSA/unknown")  # a known member, an unknown subsystem
    nobody = ClientId.parse("DEV/GOV/NONE/system")  # an unknown member
    for client in (stranger, nobody):
        with pytest.raises(UnknownGroupMember) as refused:
            policy.set_member(actor="ops", code="social", client=client, member=True)
        assert refused.value.code == "exchange.unknown_subsystem"
    members.subsystems[OTHER] = False
    with pytest.raises(DisabledGroupMember) as disabled:
        policy.set_member(actor="ops", code="social", client=OTHER, member=True)
    assert disabled.value.code == "exchange.subsystem_disabled"
    (group,) = policy.groups()
    assert group.members == frozenset()  # nothing changed
    assert [e.action for e, _ in state.audit][-1] == "exchange.group_created"
    policy.set_member(actor="ops", code="social", client=CLIENT, member=True)
    members.subsystems[CLIENT] = False  # disabled later: it can still be taken out
    policy.set_member(actor="ops", code="social", client=CLIENT, member=False)
    assert policy.groups()[0].members == frozenset()


def test_revoking_takes_effect_at_once(policy: AccessPolicy) -> None:
    granted = policy.grant(actor="ops", subject=str(CLIENT), service=BIRTHS, method="*", path="/**")
    assert policy.allows(CLIENT, BIRTHS, "PUT", "/x")
    policy.revoke(actor="ops", right_id=granted.right_id)
    assert not policy.allows(CLIENT, BIRTHS, "PUT", "/x")


def test_grants_to_unknown_groups_and_duplicates_are_refused(policy: AccessPolicy) -> None:
    with pytest.raises(UnknownGroup):
        policy.grant(actor="ops", subject="group:none", service=BIRTHS, method="*", path="/**")
    deaths = ServiceRef(PROVIDER, "deaths")
    with pytest.raises(UnknownService):
        policy.grant(actor="ops", subject=str(CLIENT), service=deaths, method="*", path="/**")
    policy.grant(actor="ops", subject=str(CLIENT), service=BIRTHS, method="get", path="/x")
    with pytest.raises(DuplicateRight):
        policy.grant(actor="ops", subject=str(CLIENT), service=BIRTHS, method="GET", path="/x")
    assert len(policy.rights()) == 1


def _gateway(state: _State, directory: FakeDirectory, policy: AccessPolicy) -> Gateway:
    clock = ManualClock(START)
    registry = ServiceRegistry(uow=lambda: FakeUnitOfWork(state), clock=clock)
    return Gateway(
        catalog=ServiceCatalog(registry, ttl=0),
        access=directory,
        keys=directory,
        provider=ScriptedProvider(),
        log=FakeLog(),
        consent=FakeConsent(),
        signer=Signer.generate(),
        clock=clock,
        limits=GatewayLimits(decision_ttl=0),
        policy=policy,
    )


async def _empty() -> AsyncIterator[bytes]:
    yield b""


def _call(gateway: Gateway, method: str, target: str) -> GatewayAnswer:
    return asyncio.run(
        gateway.exchange(
            ConsumerCall(
                client_id=str(CLIENT),
                claimed_client=str(CLIENT),
                provider=PROVIDER,
                service_code="births",
                method=method,
                target=target,
                headers={"x-road-client": str(CLIENT)},
                body=_empty(),
            )
        )
    )


def _code(answer: GatewayAnswer) -> str | None:
    return answer.error.code if answer.error is not None else None


def test_the_gateway_passes_only_calls_within_an_endpoint_right(
    policy: AccessPolicy, state: _State
) -> None:
    directory = FakeDirectory()  # no right on the whole service
    gateway = _gateway(state, directory, policy)
    denied = _call(gateway, "GET", "/births/B-1")
    assert _code(denied) == "directory.access_denied"
    policy.grant(actor="ops", subject=str(CLIENT), service=BIRTHS, method="GET", path="/births/*")
    assert _call(gateway, "GET", "/births/B-1?full=1").error is None
    denied = _call(gateway, "DELETE", "/births/B-1")
    assert _code(denied) == "directory.access_denied"
    denied = _call(gateway, "GET", "/deaths/D-1")
    assert _code(denied) == "directory.access_denied"
    directory.rights.add((CLIENT, BIRTHS))  # a directory right still opens the whole service
    assert _call(gateway, "DELETE", "/births/B-1").error is None
