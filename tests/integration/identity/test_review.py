"""The review queue over SQL, on both engines, with a rule-based matcher whose verdicts the
test can read (the engine's own quality is measured by ``bench/dedup.py``)."""

from __future__ import annotations

import pytest

from baobab.identity import DuplicateFinder, PacketState, ReviewDecision
from tests.integration.identity.people import Enroller, packet, person
from tests.unit.identity.fakes import RuleFinder


@pytest.fixture
def finder() -> DuplicateFinder:
    return RuleFinder()


def test_review_case_round_trip(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person(given="Grace", family="Okafor"))
    enroller.enrol("pkt-00000003", person(given="Musa", family="Bello"))
    # the same family name and birth date, another given name: the rules say "review"
    doubtful = enroller.submit(packet("pkt-00000002", person(given="Blessing", family="Okafor")))
    assert doubtful.state is PacketState.IN_REVIEW
    [case] = stack.enrolment.review_queue()
    view = stack.enrolment.show_case(actor="officer", case_id=case.case_id)
    assert view.packet["given_name"] == "Blessing"
    assert view.candidates[0][0].uin == uin
    assert view.candidates[0][1]["given_name"] == "Grace"
    assert [c.uin for c, _ in view.candidates] == [uin]
    decided = stack.enrolment.decide(
        actor="officer", case_id=case.case_id, decision=ReviewDecision.DISTINCT, reason="sisters"
    )
    assert decided.state is PacketState.ISSUED
    assert stack.enrolment.review_queue() == []
    [closed] = stack.enrolment.review_queue(open_only=False)
    assert closed.decided_by == "officer"
    assert closed.decision is ReviewDecision.DISTINCT


def test_a_duplicate_decision_and_a_rejection_are_stored(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person(given="Grace", family="Okafor"))
    enroller.submit(packet("pkt-00000002", person(given="Gracie", family="Okafor")))
    enroller.submit(packet("pkt-00000003", person(given="Blessing", family="Okafor")))
    first, second = stack.enrolment.review_queue()
    duplicate = stack.enrolment.decide(
        actor="officer",
        case_id=first.case_id,
        decision=ReviewDecision.DUPLICATE,
        duplicate_of=uin,
        reason="nickname of the same person",
    )
    rejected = stack.enrolment.decide(
        actor="officer", case_id=second.case_id, decision=ReviewDecision.REJECT, reason="forged"
    )
    assert stack.enrolment.enrolment(duplicate.packet_id).duplicate_of == uin
    assert stack.enrolment.enrolment(rejected.packet_id).state is PacketState.REJECTED
    assert stack.enrolment.enrolment(rejected.packet_id).reason == "forged"
