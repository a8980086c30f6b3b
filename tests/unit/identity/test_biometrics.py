from __future__ import annotations

import json

import httpx
import pytest

from baobab.identity import EnrolmentService, PacketState, ReviewDecision
from baobab.identity.adapters.abis import HttpAbis
from baobab.identity.biometrics import AbisUnavailable, BiometricCandidate, combine
from baobab.identity.domain import DuplicateCandidate, MatchOutcome
from baobab.identity.packets import BiometricRef
from tests.unit.identity.abis_double import AbisDouble
from tests.unit.identity.world import World, packet, person

MATCH, REVIEW = MatchOutcome.MATCH, MatchOutcome.REVIEW


def _finger(reference: str) -> dict[str, object]:
    return {"biometrics": [{"modality": "finger", "reference": reference}]}


@pytest.fixture
def abis(world: World) -> AbisDouble:
    double = AbisDouble()
    world.enrolment = EnrolmentService(
        uow=world.db.uow,
        clock=world.clock,
        profiles=world.profiles,
        keys=world.keys,
        finder=world.finder,
        abis=double,
    )
    return double


def test_both_matchers_agreeing_is_a_match_and_disagreeing_is_a_review() -> None:
    demographic = [
        DuplicateCandidate("A", 20.0, MATCH, {"given_name": "exact"}),
        DuplicateCandidate("B", 19.0, MATCH),
        DuplicateCandidate("C", 12.0, REVIEW),
    ]
    biometric = [BiometricCandidate("A", MATCH, 80.0), BiometricCandidate("D", MATCH, 95.0)]
    combined = {c.uin: c for c in combine(demographic, biometric)}
    assert combined["A"].outcome is MATCH
    assert combined["A"].field_levels == {"given_name": "exact", "biometric": "match"}
    assert combined["B"].outcome is REVIEW  # a twin: same papers, other fingers
    assert combined["B"].field_levels == {"biometric": "none"}
    assert combined["C"].outcome is REVIEW
    assert combined["D"].outcome is REVIEW  # same fingers, other papers
    assert combined["D"].field_levels == {"biometric": "match"}
    assert combine(demographic, biometric)[0].uin == "A"


def test_a_biometric_review_never_makes_a_match() -> None:
    [only] = combine(
        [DuplicateCandidate("A", 20.0, MATCH)], [BiometricCandidate("A", REVIEW, 40.0)]
    )
    assert only.outcome is REVIEW
    assert only.field_levels["biometric"] == "review"


def test_an_issued_person_is_inserted_in_the_abis_under_the_uin(
    world: World, abis: AbisDouble
) -> None:
    enrolment = world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    assert enrolment.state is PacketState.ISSUED
    assert abis.gallery == {"tpl-1": enrolment.uin}
    assert abis.requests == [("identify", "pkt-00000001"), ("insert", "pkt-00000001")]


def test_the_same_fingers_under_another_name_go_to_review(world: World, abis: AbisDouble) -> None:
    first = world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    other = person("Zainab", "Bello", birth_date="1975-01-02")
    second = world.submit(packet("pkt-00000002", other, **_finger("tpl-1")))
    assert second.state is PacketState.IN_REVIEW
    [case] = world.db.tables.cases.values()
    [candidate] = case.candidates
    assert (candidate.uin, candidate.field_levels) == (first.uin, {"biometric": "match"})


def test_a_demographic_match_confirmed_by_the_abis_is_a_duplicate(
    world: World, abis: AbisDouble
) -> None:
    first = world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    again = world.submit(packet("pkt-00000002", person(), **_finger("tpl-1")))
    assert again.state is PacketState.DUPLICATE
    assert again.duplicate_of == first.uin


def test_a_demographic_match_the_abis_does_not_confirm_goes_to_review(
    world: World, abis: AbisDouble
) -> None:
    world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    twin = world.submit(packet("pkt-00000002", person(), **_finger("tpl-2")))
    assert twin.state is PacketState.IN_REVIEW


def test_a_packet_with_a_biometric_exception_is_not_sent_to_the_abis(
    world: World, abis: AbisDouble
) -> None:
    body = packet("pkt-00000001", person(), biometric_exception={"reason": "no hands"})
    del body["biometrics"]
    assert world.submit(body).state is PacketState.ISSUED
    assert abis.requests == []


def test_an_unavailable_abis_settles_nothing(world: World, abis: AbisDouble) -> None:
    abis.down = True
    with pytest.raises(AbisUnavailable):
        world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    assert world.db.tables.packets == {}
    assert world.db.tables.identities == {}
    assert world.finder.gallery == {}
    abis.down = False
    assert world.submit(packet("pkt-00000001", person(), **_finger("tpl-1"))).uin is not None


def test_a_refused_insert_rolls_the_issue_back(world: World, abis: AbisDouble) -> None:
    def refuse(**_: object) -> None:
        raise AbisUnavailable("full")

    abis.insert = refuse  # type: ignore[method-assign]
    with pytest.raises(AbisUnavailable):
        world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    assert world.db.tables.packets == {}
    assert world.db.tables.identities == {}


# --- the HTTP adapter, against a stand-in server ------------------------------------------------


def _abis_server(answers: dict[str, httpx.Response], seen: list[httpx.Request]) -> HttpAbis:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[request.url.path]

    return HttpAbis("http://abis.test/v1/", api_key="k-1", transport=httpx.MockTransport(handle))


def test_the_http_adapter_sends_references_and_reads_candidates() -> None:
    seen: list[httpx.Request] = []
    candidates = [{"uin": "2345678901", "decision": "match", "score": 97.5}]
    abis = _abis_server(
        {"/v1/identify": httpx.Response(200, json={"candidates": candidates})}, seen
    )
    found = abis.identify(request_id="pkt-1", references=[BiometricRef("iris", "tpl-9")])
    assert found == [BiometricCandidate("2345678901", MATCH, 97.5)]
    [request] = seen
    assert request.headers["authorization"] == "Bearer k-1"
    assert json.loads(request.content) == {
        "request_id": "pkt-1",
        "biometrics": [{"modality": "iris", "reference": "tpl-9"}],
    }


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503),
        httpx.Response(200, json={"candidates": [{"uin": "1", "decision": "maybe"}]}),
        httpx.Response(200, json={"people": []}),
        httpx.Response(200, content=b"not json"),
    ],
)
def test_the_http_adapter_turns_failures_into_abis_unavailable(answer: httpx.Response) -> None:
    abis = _abis_server({"/v1/identify": answer}, [])
    with pytest.raises(AbisUnavailable):
        abis.identify(request_id="pkt-1", references=[BiometricRef("finger", "tpl-1")])


def test_the_http_adapter_inserts_under_the_uin() -> None:
    seen: list[httpx.Request] = []
    abis = _abis_server({"/v1/insert": httpx.Response(204)}, seen)
    abis.insert(request_id="pkt-1", uin="2345678901", references=[BiometricRef("face", "t")])
    assert json.loads(seen[0].content)["uin"] == "2345678901"


def test_a_person_an_officer_issues_is_inserted_in_the_abis(world: World, abis: AbisDouble) -> None:
    world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    other = person("Zainab", "Bello", birth_date="1975-01-02")
    world.submit(packet("pkt-00000002", other, **_finger("tpl-1")))  # review: same finger
    [case] = world.enrolment.review_queue()
    issued = world.enrolment.decide(
        actor="o", case_id=case.case_id, decision=ReviewDecision.DISTINCT, reason="checked"
    )
    assert issued.state is PacketState.ISSUED
    assert abis.requests[-1] == ("insert", "pkt-00000002")
    assert abis.gallery["tpl-1"] == issued.uin


def test_an_officer_cannot_issue_while_the_abis_is_down(world: World, abis: AbisDouble) -> None:
    world.submit(packet("pkt-00000001", person(), **_finger("tpl-1")))
    world.submit(packet("pkt-00000002", person("Zainab", "Bello"), **_finger("tpl-1")))
    [case] = world.enrolment.review_queue()
    abis.down = True
    with pytest.raises(AbisUnavailable):
        world.enrolment.decide(
            actor="o", case_id=case.case_id, decision=ReviewDecision.DISTINCT, reason="checked"
        )
    assert world.enrolment.enrolment("pkt-00000002").state is PacketState.IN_REVIEW
    assert len(world.db.tables.identities) == 1
