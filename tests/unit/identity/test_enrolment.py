from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from baobab.identity import (
    BadPacketSignature,
    BiometricsMissing,
    EnrolmentService,
    MalformedPacket,
    PacketConflict,
    PacketState,
    ReviewDecision,
    SchemaViolation,
    UnknownField,
    UnknownIdentity,
    UnknownPacket,
    UnknownReviewCase,
)
from baobab.identity.errors import (
    IllegalTransition,
    ImpossibleDate,
    InvalidDecision,
    ReviewAlreadyDecided,
)
from baobab.kernel.signing import Signer
from tests.unit.identity.fakes import RuleFinder
from tests.unit.identity.world import AGENCY, World, packet, person


def test_a_new_person_is_issued_a_uin_through_every_state(world: World) -> None:
    enrolment = world.submit(packet("pkt-00000001", person()))
    assert enrolment.state is PacketState.ISSUED
    assert [t.state for t in enrolment.transitions] == [
        PacketState.RECEIVED,
        PacketState.CHECKED,
        PacketState.DEDUPLICATING,
        PacketState.ISSUED,
    ]
    assert enrolment.uin is not None
    assert world.profiles.active.uin_policy.is_valid(enrolment.uin)
    identity = world.db.tables.identities[enrolment.uin]
    assert identity.attributes == person()
    assert identity.profile == "example-a@2"
    assert enrolment.uin in world.finder.gallery
    [event] = world.db.audit
    assert (event.action, event.actor, event.subject) == (
        "identity.packet_settled",
        AGENCY,
        "pkt-00000001",
    )
    assert event.details["state"] == "issued"
    assert "Amina" not in str(event)
    assert enrolment.uin not in str(event)


def test_the_same_packet_again_gives_the_same_result_and_changes_nothing(world: World) -> None:
    first = world.submit(packet("pkt-00000001", person()))
    commits = world.db.commits
    again = world.submit(packet("pkt-00000001", person()))
    assert again == first
    assert world.db.commits == commits
    assert len(world.db.tables.identities) == 1


def test_the_same_packet_id_with_other_content_is_a_conflict(world: World) -> None:
    world.submit(packet("pkt-00000001", person()))
    with pytest.raises(PacketConflict):
        world.submit(packet("pkt-00000001", person(given="Aminata")))
    assert len(world.db.tables.identities) == 1


def test_a_duplicate_is_caught_and_names_the_identity(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    enrolment = world.submit(packet("pkt-00000002", person()))
    assert enrolment.state is PacketState.DUPLICATE
    assert enrolment.duplicate_of == uin
    assert enrolment.uin is None
    assert len(world.db.tables.identities) == 1


def test_a_doubtful_match_goes_to_review_and_an_officer_decides(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    enrolment = world.submit(packet("pkt-00000002", person(given="Aminata")))
    assert enrolment.state is PacketState.IN_REVIEW
    [case] = world.enrolment.review_queue()
    assert case.packet_id == "pkt-00000002"
    assert [c.uin for c in case.candidates] == [uin]

    view = world.enrolment.show_case(actor="officer", case_id=case.case_id)
    assert view.packet["given_name"] == "Aminata"
    assert view.candidates[0][1]["given_name"] == "Amina"

    decided = world.enrolment.decide(
        actor="officer", case_id=case.case_id, decision=ReviewDecision.DISTINCT, reason="twins"
    )
    assert decided.state is PacketState.ISSUED
    assert decided.uin is not None
    assert decided.uin != uin
    assert world.enrolment.review_queue() == []
    assert decided.uin in world.finder.gallery
    assert world.db.audit[-1].action == "identity.review_decided"
    assert world.db.audit[-1].actor == "officer"
    with pytest.raises(ReviewAlreadyDecided):
        world.enrolment.decide(
            actor="officer", case_id=case.case_id, decision=ReviewDecision.REJECT, reason="again"
        )


def test_a_reviewer_may_declare_a_duplicate_of_a_candidate_only(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    world.submit(packet("pkt-00000002", person(given="Aminata")))
    [case] = world.enrolment.review_queue()
    with pytest.raises(InvalidDecision):
        world.enrolment.decide(
            actor="o",
            case_id=case.case_id,
            decision=ReviewDecision.DUPLICATE,
            duplicate_of="2749583610",
            reason="same",
        )
    with pytest.raises(InvalidDecision):
        world.enrolment.decide(
            actor="o", case_id=case.case_id, decision=ReviewDecision.DUPLICATE, reason="same"
        )
    with pytest.raises(InvalidDecision):
        world.enrolment.decide(
            actor="o", case_id=case.case_id, decision=ReviewDecision.REJECT, reason=""
        )
    decided = world.enrolment.decide(
        actor="o",
        case_id=case.case_id,
        decision=ReviewDecision.DUPLICATE,
        duplicate_of=uin,
        reason="same person, nickname",
    )
    assert decided.state is PacketState.DUPLICATE
    assert decided.duplicate_of == uin


def test_a_reviewer_may_reject(world: World) -> None:
    world.enrol("pkt-00000001", person())
    world.submit(packet("pkt-00000002", person(given="Aminata")))
    [case] = world.enrolment.review_queue()
    decided = world.enrolment.decide(
        actor="o", case_id=case.case_id, decision=ReviewDecision.REJECT, reason="forged papers"
    )
    assert decided.state is PacketState.REJECTED
    assert world.enrolment.enrolment("pkt-00000002").reason == "forged papers"
    with pytest.raises(UnknownReviewCase):
        world.enrolment.decide(
            actor="o", case_id="nope", decision=ReviewDecision.REJECT, reason="nope"
        )


def test_enrolment_without_fingerprints_phone_or_full_birth_date(world: World) -> None:
    body = packet("pkt-00000001", person(given="Ngʼendo", birth_date="1961"))  # noqa: RUF001
    del body["biometrics"]
    body["biometric_exception"] = {"reason": "fingerprints worn by manual work"}
    enrolment = world.submit(body)
    assert enrolment.state is PacketState.ISSUED


def test_no_biometrics_and_no_exception_is_refused(world: World) -> None:
    body = packet("pkt-00000001", person())
    del body["biometrics"]
    with pytest.raises(BiometricsMissing):
        world.submit(body)


def _bad(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


GOOD = packet("pkt-00000001", person())


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_bad(GOOD, packet_id="short"), MalformedPacket),
        (_bad(GOOD, extra="x"), MalformedPacket),
        (_bad(GOOD, kind="merge"), MalformedPacket),
        (_bad(GOOD, demographics=[]), MalformedPacket),
        (_bad(GOOD, biometrics=[{"modality": "dna", "reference": "r"}]), MalformedPacket),
        (_bad(GOOD, documents=[{"kind": "passport"}]), MalformedPacket),
        (_bad(GOOD, officer=""), MalformedPacket),
        (_bad(GOOD, biometric_exception={"reason": "no"}), MalformedPacket),
        (_bad(GOOD, uin="2749583610"), MalformedPacket),
        (_bad(GOOD, kind="update"), MalformedPacket),
        (_bad(GOOD, demographics=person(shoe="42")), UnknownField),
        (_bad(GOOD, demographics=person(birth_date="1990-02-30")), ImpossibleDate),
        (_bad(GOOD, demographics=person(sex="cat")), SchemaViolation),
    ],
)
def test_bad_packets_get_a_specific_error_and_change_nothing(
    world: World, body: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        world.submit(body)
    assert world.db.commits == 0
    assert world.db.tables.enrolments == {}


def test_a_packet_that_is_not_a_jws_is_malformed(world: World) -> None:
    with pytest.raises(MalformedPacket):
        world.enrolment.submit(caller=AGENCY, signed_packet="not.a-jws")


def test_a_packet_signed_by_another_key_is_refused(world: World) -> None:
    stranger = Signer.generate("Ed25519")
    with pytest.raises(BadPacketSignature):
        world.enrolment.submit(caller=AGENCY, signed_packet=world.sign(GOOD, stranger))
    forged = world.sign(GOOD).rsplit(".", 1)[0] + "." + stranger.encode(GOOD).rsplit(".", 1)[1]
    with pytest.raises(BadPacketSignature):
        world.enrolment.submit(caller=AGENCY, signed_packet=forged)
    with pytest.raises(BadPacketSignature):  # the agency's key, but another caller
        world.enrolment.submit(caller="DEV/GOV/NRB/other", signed_packet=world.sign(GOOD))
    assert world.db.commits == 0


def test_a_retired_key_no_longer_signs_packets(world: World) -> None:
    [key] = world.keys.by_client[next(iter(world.keys.by_client))]
    world.keys.by_client[key.client_id] = [key.retire(not_after=world.clock.now())]
    with pytest.raises(BadPacketSignature):
        world.submit(GOOD)


def test_an_update_keeps_history_and_goes_through_the_same_checks(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    world.clock.advance(timedelta(days=30))
    moved = {"address": {"region": "South", "district": "Lagos"}}
    update = {
        "packet_id": "pkt-00000002",
        "kind": "update",
        "uin": uin,
        "demographics": moved,
        "officer": "o",
        "centre": "c",
    }
    enrolment = world.submit(update)
    assert enrolment.state is PacketState.ISSUED
    assert enrolment.uin == uin
    identity = world.db.tables.identities[uin]
    assert identity.version == 2
    assert identity.attributes["address"] == moved["address"]
    assert identity.attributes["given_name"] == "Amina"
    versions = [(v.version, v.attributes["address"]["region"]) for v in world.db.tables.history]
    assert versions == [(1, "North"), (2, "South")]
    with pytest.raises(SchemaViolation):
        world.submit({**update, "packet_id": "pkt-00000003", "demographics": {"given_name": None}})
    with pytest.raises(UnknownIdentity):
        world.submit({**update, "packet_id": "pkt-00000004", "uin": "2749583610"})
    assert world.db.tables.identities[uin].version == 2


def test_an_update_that_resembles_someone_else_goes_to_review(world: World) -> None:
    world.enrol("pkt-00000001", person())
    other = world.enrol("pkt-00000002", person(given="Musa", family="Bello"))
    update = {
        "packet_id": "pkt-00000003",
        "kind": "update",
        "uin": other,
        "demographics": {"given_name": "Amina", "family_name": "Diallo"},
        "officer": "o",
        "centre": "c",
    }
    assert world.submit(update).state is PacketState.IN_REVIEW
    assert world.db.tables.identities[other].attributes["given_name"] == "Musa"
    [case] = world.enrolment.review_queue()
    decided = world.enrolment.decide(
        actor="o", case_id=case.case_id, decision=ReviewDecision.DISTINCT, reason="checked papers"
    )
    assert decided.uin == other
    assert world.db.tables.identities[other].attributes["given_name"] == "Amina"
    assert world.db.tables.identities[other].version == 2


def test_the_gallery_is_rebuilt_from_the_store(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    world.finder.gallery.clear()
    assert world.enrolment.load_gallery() == 1
    assert world.finder.gallery[uin]["given_name"] == "Amina"


def test_unknown_packet_and_state_machine_guards(world: World) -> None:
    with pytest.raises(UnknownPacket):
        world.enrolment.enrolment("pkt-missing1")
    enrolment = world.submit(packet("pkt-00000001", person()))
    with pytest.raises(IllegalTransition):
        enrolment.move(PacketState.IN_REVIEW, at=world.clock.now())


def test_a_restarted_service_fills_its_gallery_before_the_first_packet(world: World) -> None:
    uin = world.enrol("pkt-00000001", person())
    restarted = EnrolmentService(
        uow=world.db.uow,
        clock=world.clock,
        profiles=world.profiles,
        keys=world.keys,
        finder=RuleFinder(),  # empty, as after a restart
    )
    again = restarted.submit(
        caller=AGENCY, signed_packet=world.sign(packet("pkt-00000002", person()))
    )
    assert again.duplicate_of == uin


def test_a_uin_drawn_twice_is_drawn_again_and_the_packet_names_the_new_one(world: World) -> None:
    draws = iter(["2345678901", "2345678901", "3456789012"])
    world.enrolment = EnrolmentService(
        uow=world.db.uow,
        clock=world.clock,
        profiles=world.profiles,
        keys=world.keys,
        finder=world.finder,
        new_uin=lambda: next(draws),
    )
    assert world.enrol("pkt-00000001", person()) == "2345678901"
    second = world.submit(packet("pkt-00000002", person(given="Musa", family="Bello")))
    assert second.uin == "3456789012"
    assert world.enrolment.enrolment("pkt-00000002").uin == "3456789012"
    assert set(world.finder.gallery) == {"2345678901", "3456789012"}
