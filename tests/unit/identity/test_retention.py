from __future__ import annotations

from datetime import timedelta

import pytest

from baobab.identity import PacketState, ReviewDecision
from baobab.identity.retention import RetentionService
from baobab.kernel.errors import InvalidInput
from tests.unit.identity.world import World, packet, person

PERIOD = timedelta(days=90)


@pytest.fixture
def retention(world: World) -> RetentionService:
    return RetentionService(uow=world.db.uow, clock=world.clock, period=PERIOD)


def _duplicate_and_rejected(world: World) -> None:
    world.enrol("pkt-00000001", person())
    assert world.submit(packet("pkt-00000002", person())).state is PacketState.DUPLICATE
    world.submit(packet("pkt-00000003", person(given="Fatima")))  # review: same family, date
    [case] = world.db.tables.cases.values()
    world.clock.advance(timedelta(days=30))  # decided a month later
    world.enrolment.decide(
        actor="o", case_id=case.case_id, decision=ReviewDecision.REJECT, reason="forged papers"
    )


def test_only_duplicate_and_rejected_packets_past_the_period_lose_their_data(
    world: World, retention: RetentionService
) -> None:
    _duplicate_and_rejected(world)
    world.clock.advance(PERIOD - timedelta(days=1))  # the duplicate's period is over
    assert retention.purge(actor="ops").purged == ["pkt-00000002"]
    assert world.enrolment.enrolment("pkt-00000002").duplicate_of is not None  # facts stay
    assert "pkt-00000002" not in world.db.tables.packets
    assert "pkt-00000003" in world.db.tables.packets  # decided later: still within its period
    world.clock.advance(timedelta(days=2))
    assert retention.purge(actor="ops").purged == ["pkt-00000003"]
    assert world.db.tables.packets.keys() == {"pkt-00000001"}  # the issued one keeps its data
    rejected = world.enrolment.enrolment("pkt-00000003")
    assert (rejected.state, rejected.reason) == (PacketState.REJECTED, "forged papers")
    purges = [e for e in world.db.audit if e.action == "identity.packet_purged"]
    assert [(e.actor, e.subject, e.details["state"]) for e in purges] == [
        ("ops", "pkt-00000002", "duplicate"),
        ("ops", "pkt-00000003", "rejected"),
    ]
    assert retention.purge(actor="ops").purged == []
    [case] = world.enrolment.review_queue(open_only=False)
    view = world.enrolment.show_case(actor="officer", case_id=case.case_id)
    assert (view.packet, view.enrolment.state) == ({}, PacketState.REJECTED)


def test_a_dry_run_names_the_packets_and_changes_nothing(
    world: World, retention: RetentionService
) -> None:
    _duplicate_and_rejected(world)
    world.clock.advance(PERIOD * 2)
    audit_before = len(world.db.audit)
    report = retention.purge(actor="ops", dry_run=True, batch=1)
    assert report.purged == ["pkt-00000002", "pkt-00000003"]
    assert {"pkt-00000002", "pkt-00000003"} <= world.db.tables.packets.keys()
    assert len(world.db.audit) == audit_before


def test_the_period_and_batch_are_checked(world: World, retention: RetentionService) -> None:
    with pytest.raises(InvalidInput):
        RetentionService(uow=world.db.uow, clock=world.clock, period=timedelta(hours=1))
    with pytest.raises(InvalidInput):
        retention.purge(actor="ops", batch=0)
