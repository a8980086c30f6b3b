"""Packets waiting for the deduplication lock are settled together, in one transaction, in
arrival order, each decided against the ones before it; a surprise while writing sends them
through again one by one."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from baobab.identity import (
    AbisUnavailable,
    DuplicateCandidate,
    EnrolmentService,
    PacketConflict,
    PacketState,
)
from baobab.identity.packets import BiometricRef
from tests.unit.identity.abis_double import AbisDouble
from tests.unit.identity.fakes import RuleFinder
from tests.unit.identity.world import World, packet, person


class HeldFinder(RuleFinder):
    """Holds its first search (and with it the deduplication lock) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.searching = threading.Event()
        self.release = threading.Event()

    def find(self, person: Mapping[str, str], *, limit: int = 10) -> Sequence[DuplicateCandidate]:
        if not self.searching.is_set():
            self.searching.set()
            self.release.wait(timeout=30)
        return super().find(person, limit=limit)


def _submit_together(
    world: World,
    first: dict[str, Any],
    rest: list[dict[str, Any]],
    abis: AbisDouble | None = None,
) -> list[Any]:
    """Submit ``first``; while it holds the lock, the others queue up; then let them go."""
    finder = HeldFinder()
    world.finder = finder
    world.enrolment = EnrolmentService(  # a fresh service: its gallery loads from the store
        uow=world.db.uow,
        clock=world.clock,
        profiles=world.profiles,
        keys=world.keys,
        finder=finder,
        abis=abis,
    )
    results: dict[int, Any] = {}

    def send(index: int, body: dict[str, Any]) -> None:
        try:
            results[index] = world.submit(body)
        except Exception as exc:  # every outcome is checked by the test
            results[index] = exc

    threads = [threading.Thread(target=send, args=(0, first))]
    threads[0].start()
    assert finder.searching.wait(timeout=30)
    deadline = time.monotonic() + 30
    for index, body in enumerate(rest, start=1):
        threads.append(threading.Thread(target=send, args=(index, body)))
        threads[-1].start()
        # one at a time: the packets queue in the order given, which the tests rely on
        while len(world.enrolment._waiting) < index:
            assert time.monotonic() < deadline
            time.sleep(0.001)
    finder.release.set()
    for thread in threads:
        thread.join(timeout=30)
    return [results[i] for i in range(len(rest) + 1)]


def test_waiting_packets_share_one_transaction_and_see_each_other(world: World) -> None:
    commits_before = world.db.commits
    results = _submit_together(
        world,
        packet("pkt-00000001", person()),
        [
            packet("pkt-00000002", person(given="Musa", family="Bello")),
            packet("pkt-00000003", person(given="Musa", family="Bello")),  # the same again
            packet("pkt-00000004", person(given="Ngozi", family="Eze")),
        ],
    )
    assert [r.state for r in results] == [
        PacketState.ISSUED,
        PacketState.ISSUED,
        PacketState.DUPLICATE,
        PacketState.ISSUED,
    ]
    assert results[2].duplicate_of == results[1].uin
    assert world.db.commits - commits_before == 2  # the first alone, the three queued together
    assert set(world.db.tables.identities) == {results[i].uin for i in (0, 1, 3)}
    assert set(world.finder.gallery) == set(world.db.tables.identities)


def test_a_conflict_in_a_batch_settles_the_others_one_by_one(world: World) -> None:
    world.enrol("pkt-00000009", person(given="Old", family="Timer"))
    results = _submit_together(
        world,
        packet("pkt-00000001", person()),
        [
            packet("pkt-00000002", person(given="Musa", family="Bello")),
            packet("pkt-00000009", person(given="Other", family="Content")),  # id taken
            packet("pkt-00000003", person(given="Ngozi", family="Eze")),
        ],
    )
    assert results[1].state is PacketState.ISSUED
    assert isinstance(results[2], PacketConflict)
    assert results[3].state is PacketState.ISSUED
    assert len(world.db.tables.identities) == 4
    assert set(world.finder.gallery) == set(world.db.tables.identities)


def test_packets_for_the_abis_are_settled_one_at_a_time(world: World) -> None:
    abis = AbisDouble()
    refuse = abis.insert

    def insert(*, request_id: str, uin: str, references: Sequence[BiometricRef]) -> None:
        if request_id == "pkt-00000002":
            raise AbisUnavailable("the ABIS refuses this one")
        refuse(request_id=request_id, uin=uin, references=references)

    abis.insert = insert  # type: ignore[method-assign]

    def fingers(reference: str) -> dict[str, Any]:
        return {"biometrics": [{"modality": "finger", "reference": reference}]}

    commits_before = world.db.commits
    results = _submit_together(
        world,
        packet("pkt-00000001", person(), **fingers("tpl-1")),
        [
            packet("pkt-00000002", person(given="Musa", family="Bello"), **fingers("tpl-2")),
            packet("pkt-00000003", person(given="Ngozi", family="Eze"), **fingers("tpl-3")),
        ],
        abis=abis,
    )
    assert results[0].state is PacketState.ISSUED
    assert isinstance(results[1], AbisUnavailable)
    assert results[2].state is PacketState.ISSUED
    assert "pkt-00000002" not in world.db.tables.enrolments
    assert len(world.db.tables.identities) == 2
    assert set(world.finder.gallery) == set(world.db.tables.identities)
    assert set(abis.gallery) == {"tpl-1", "tpl-3"}
    assert world.db.commits - commits_before == 2  # pkt-00000002 changed nothing
