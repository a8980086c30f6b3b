"""Directory admin use cases against in-memory fakes: every change is audited and bad input
changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from baobab.directory import AccessDenied, ClientId, DirectoryService, MemberId, Role, ServiceRef
from baobab.directory.domain import (
    DuplicateKey,
    DuplicateMember,
    DuplicateSubsystem,
    InvalidIdentifier,
    InvalidRole,
    KeyRevoked,
    KeyStatus,
    UnknownKey,
    UnknownMember,
    UnknownRight,
    UnknownScope,
    UnknownSubsystem,
)
from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import BaobabError, InvalidInput
from baobab.kernel.signing import InvalidKey, Signer
from tests.support import START
from tests.unit.directory.fakes import FakeDirectory

MOF = MemberId("DEV", "GOV", "MOF")
TREASURY = ClientId(MOF, "treasury")
BANK = ClientId(MemberId("DEV", "COM", "BANKA"), "payments")
SCOPES = {"directory:read", "directory:admin", "ledger:write"}


@pytest.fixture
def world() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(world: FakeDirectory, clock: ManualClock) -> DirectoryService:
    service = DirectoryService(uow=world.uow, clock=clock, scopes=SCOPES)
    service.add_member(actor="op", member_id=MOF, name="Ministry of Finance", roles=["ministry"])
    service.add_subsystem(actor="op", client_id=TREASURY)
    return service


def unchanged(world: FakeDirectory, action: object, error: type[BaobabError]) -> BaobabError:
    """Run ``action``, expect ``error``, and check that the committed state did not move."""
    before = repr(world.state)
    with pytest.raises(error) as caught:
        action()  # type: ignore[operator]
    assert repr(world.state) == before
    return caught.value


def test_member_and_subsystem_are_registered_and_audited(
    service: DirectoryService, world: FakeDirectory
) -> None:
    member, subsystems = service.get_member(MOF)
    assert member.name == "Ministry of Finance"
    assert member.roles == {Role.MINISTRY}
    assert [s.id for s in subsystems] == [TREASURY]
    assert world.actions() == ["directory.member_added", "directory.subsystem_added"]
    event = world.state.audit[0][0]
    assert (event.actor, event.subject, event.details) == (
        "op",
        "DEV/GOV/MOF",
        {"roles": "ministry"},
    )


def test_duplicate_member_and_subsystem_are_refused(
    service: DirectoryService, world: FakeDirectory
) -> None:
    unchanged(
        world,
        lambda: service.add_member(actor="op", member_id=MOF, name="Again", roles=[]),
        DuplicateMember,
    )
    unchanged(
        world, lambda: service.add_subsystem(actor="op", client_id=TREASURY), DuplicateSubsystem
    )


@pytest.mark.parametrize(
    ("name", "roles", "error"),
    [
        ("", [], InvalidInput),
        ("x" * 201, [], InvalidInput),
        ("Bank", ["bank"], InvalidRole),
    ],
)
def test_bad_member_input_changes_nothing(
    service: DirectoryService,
    world: FakeDirectory,
    name: str,
    roles: list[str],
    error: type[BaobabError],
) -> None:
    member = MemberId("DEV", "COM", "BANKB")
    unchanged(
        world,
        lambda: service.add_member(actor="op", member_id=member, name=name, roles=roles),
        error,
    )


@pytest.mark.parametrize(
    "text",
    ["DEV/GOV", "DEV/GOV/MOF/x/y", "DEV/G OV/MOF", "DEV//MOF", "DEV/GOV/-MOF", "D/G/" + "M" * 65],
)
def test_malformed_member_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        MemberId.parse(text)


def test_subsystem_of_unknown_member_is_refused(
    service: DirectoryService, world: FakeDirectory
) -> None:
    unchanged(world, lambda: service.add_subsystem(actor="op", client_id=BANK), UnknownMember)


def test_keys_are_added_rotated_and_revoked(
    service: DirectoryService, world: FakeDirectory, clock: ManualClock
) -> None:
    first = service.add_key(actor="op", client_id=TREASURY, jwk=Signer.generate().public_jwk())
    assert first.status is KeyStatus.ACTIVE
    second = service.rotate_key(
        actor="op",
        client_id=TREASURY,
        jwk=Signer.generate("P-256").public_jwk(),
        grace=timedelta(minutes=5),
    )
    keys = {k.kid: k for k in service.keys_of(TREASURY)}
    assert keys[first.kid].status is KeyStatus.RETIRING
    assert keys[first.kid].not_after == START + timedelta(minutes=5)
    assert keys[first.kid].usable_at(START + timedelta(minutes=4))
    assert not keys[first.kid].usable_at(START + timedelta(minutes=5))
    assert keys[second.kid].status is KeyStatus.ACTIVE
    assert second.alg == "ES256"
    revoked = service.revoke_key(actor="op", client_id=TREASURY, kid=second.kid)
    assert revoked.status is KeyStatus.REVOKED
    assert not revoked.usable_at(START)
    unchanged(
        world,
        lambda: service.revoke_key(actor="op", client_id=TREASURY, kid=second.kid),
        KeyRevoked,
    )
    assert world.actions()[-3:] == [
        "directory.key_added",
        "directory.key_rotated",
        "directory.key_revoked",
    ]


def test_bad_keys_change_nothing(service: DirectoryService, world: FakeDirectory) -> None:
    signer = Signer.generate()
    service.add_key(actor="op", client_id=TREASURY, jwk=signer.public_jwk())
    add = service.add_key
    unchanged(
        world, lambda: add(actor="op", client_id=TREASURY, jwk=signer.public_jwk()), DuplicateKey
    )
    unchanged(
        world, lambda: add(actor="op", client_id=TREASURY, jwk=signer.private_jwk()), InvalidKey
    )
    wrong_kid = {**Signer.generate().public_jwk(), "kid": signer.kid}
    unchanged(world, lambda: add(actor="op", client_id=TREASURY, jwk=wrong_kid), InvalidKey)
    unchanged(
        world,
        lambda: add(actor="op", client_id=BANK, jwk=Signer.generate().public_jwk()),
        UnknownSubsystem,
    )
    unchanged(
        world, lambda: service.revoke_key(actor="op", client_id=TREASURY, kid="nope"), UnknownKey
    )
    rotate = service.rotate_key
    jwk = Signer.generate().public_jwk()
    unchanged(
        world,
        lambda: rotate(actor="op", client_id=TREASURY, jwk=jwk, grace=timedelta(days=31)),
        InvalidInput,
    )


def test_a_key_cannot_be_revoked_through_another_subsystem(
    service: DirectoryService, world: FakeDirectory
) -> None:
    other = ClientId(MOF, "budget")
    service.add_subsystem(actor="op", client_id=other)
    key = service.add_key(actor="op", client_id=TREASURY, jwk=Signer.generate().public_jwk())
    unchanged(
        world, lambda: service.revoke_key(actor="op", client_id=other, kid=key.kid), UnknownKey
    )


def test_access_is_denied_unless_granted(service: DirectoryService, world: FakeDirectory) -> None:
    service.add_member(actor="op", member_id=BANK.member, name="Bank A", roles=["fsp"])
    service.add_subsystem(actor="op", client_id=BANK)
    lookup = ServiceRef(TREASURY, "payments.lookup")
    with pytest.raises(AccessDenied):
        service.check_access(BANK, lookup)
    service.grant(actor="op", client_id=BANK, service=lookup)
    service.check_access(BANK, lookup)
    with pytest.raises(AccessDenied):
        service.check_access(BANK, ServiceRef(TREASURY, "payments.other"))
    service.set_enabled(actor="op", client_id=BANK, enabled=False)
    with pytest.raises(AccessDenied):
        service.check_access(BANK, lookup)
    service.set_enabled(actor="op", client_id=BANK, enabled=True)
    service.revoke_right(actor="op", client_id=BANK, service=lookup)
    with pytest.raises(AccessDenied):
        service.check_access(BANK, lookup)
    assert "directory.right_granted" in world.actions()
    assert world.actions()[-1] == "directory.right_revoked"


def test_granting_twice_is_recorded_once(service: DirectoryService, world: FakeDirectory) -> None:
    scope = ServiceRef(None, "ledger:write")
    service.grant(actor="op", client_id=TREASURY, service=scope)
    service.grant(actor="op", client_id=TREASURY, service=scope)
    assert len(service.rights_of(TREASURY)) == 1
    assert world.actions().count("directory.right_granted") == 1


def test_bad_grants_change_nothing(service: DirectoryService, world: FakeDirectory) -> None:
    grant = service.grant
    unchanged(
        world,
        lambda: grant(actor="op", client_id=TREASURY, service=ServiceRef(None, "ledger:steal")),
        UnknownScope,
    )
    unchanged(
        world,
        lambda: grant(actor="op", client_id=TREASURY, service=ServiceRef(BANK, "x")),
        UnknownSubsystem,
    )
    unchanged(
        world,
        lambda: grant(actor="op", client_id=BANK, service=ServiceRef(None, "ledger:write")),
        UnknownSubsystem,
    )
    revoke = service.revoke_right
    unchanged(
        world,
        lambda: revoke(actor="op", client_id=TREASURY, service=ServiceRef(None, "ledger:write")),
        UnknownRight,
    )
    with pytest.raises(InvalidIdentifier):
        ServiceRef(None, "bad code")
