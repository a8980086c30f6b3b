from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from baobab.directory import ClientId, PublicKey
from baobab.directory.domain import KeyStatus
from baobab.identity import BadPacketSignature, EnrolmentService, PacketState
from baobab.identity.adapters.keys import CachedKeyDirectory
from baobab.kernel.signing import Signer
from tests.unit.identity.fakes import Keys
from tests.unit.identity.world import AGENCY, World, packet, person


class CountingKeys(Keys):
    def __init__(self, keys: Keys) -> None:
        super().__init__()
        self.by_client = keys.by_client
        self.asked = 0

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        self.asked += 1
        return list(super().keys_of(client_id))


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counted(world: World) -> tuple[CountingKeys, Ticks]:
    keys, ticks = CountingKeys(world.keys), Ticks()
    world.enrolment = EnrolmentService(
        uow=world.db.uow,
        clock=world.clock,
        profiles=world.profiles,
        keys=CachedKeyDirectory(keys, ttl=5.0, monotonic=ticks),
        finder=world.finder,
    )
    return keys, ticks


def test_the_keys_are_asked_once_per_ttl(world: World, counted: tuple[CountingKeys, Ticks]) -> None:
    keys, ticks = counted
    for number in range(3):
        world.submit(packet(f"pkt-0000000{number}", person(given=f"P{number}")))
    assert keys.asked == 1
    ticks.now = 5.0
    world.submit(packet("pkt-00000009", person(given="Later")))
    assert keys.asked == 2


def test_a_key_registered_since_the_cache_filled_works_at_once(
    world: World, counted: tuple[CountingKeys, Ticks]
) -> None:
    keys, _ = counted
    world.submit(packet("pkt-00000001", person()))
    second = Signer.generate("Ed25519")
    world.register_key(AGENCY, second, at=world.clock.now())
    body = packet("pkt-00000002", person(given="Musa", family="Bello"))
    enrolment = world.enrolment.submit(caller=AGENCY, signed_packet=world.sign(body, second))
    assert enrolment.state is PacketState.ISSUED
    assert keys.asked == 2


def test_a_revoked_key_stops_signing_within_the_ttl(
    world: World, counted: tuple[CountingKeys, Ticks]
) -> None:
    _, ticks = counted
    world.submit(packet("pkt-00000001", person()))
    client = ClientId.parse(AGENCY)
    world.keys.by_client[client] = [
        replace(k, status=KeyStatus.REVOKED) for k in world.keys.by_client[client]
    ]
    world.submit(packet("pkt-00000002", person(given="Musa")))  # still cached: accepted
    ticks.now = 5.0
    with pytest.raises(BadPacketSignature):
        world.submit(packet("pkt-00000003", person(given="Ali")))
