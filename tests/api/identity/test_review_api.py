"""The review queue over HTTP, with a rule-based matcher whose verdicts the test can read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from baobab.identity import DuplicateFinder
from tests.api.identity.client import enrol, submit
from tests.integration.identity.people import packet, person
from tests.support import Caller
from tests.unit.identity.fakes import RuleFinder


@pytest.fixture
def finder() -> DuplicateFinder:
    return RuleFinder()


def test_review_queue_side_by_side_and_decision(
    identity_api: TestClient, nrb: Caller, operator: Caller
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person(given="Grace", family="Okafor"))
    doubtful = person(given="Blessing", family="Okafor")
    assert submit(identity_api, nrb, packet("pkt-00000002", doubtful)).json()["state"] == (
        "in_review"
    )
    [case] = identity_api.get("/identity/review/cases", headers=operator.headers).json()
    detail = identity_api.get(
        f"/identity/review/cases/{case['case_id']}", headers=operator.headers
    ).json()
    assert detail["packet"]["given_name"] == "Blessing"
    assert detail["candidates"][0]["uin"] == uin
    assert detail["candidates"][0]["attributes"]["given_name"] == "Grace"
    assert detail["candidates"][0]["field_levels"] == {"given_name": "differs"}
    bad = identity_api.post(
        f"/identity/review/cases/{case['case_id']}/decision",
        json={"decision": "duplicate", "duplicate_of": "2749583610", "reason": "same"},
        headers=operator.headers,
    )
    assert bad.json()["code"] == "identity.invalid_decision"
    decided = identity_api.post(
        f"/identity/review/cases/{case['case_id']}/decision",
        json={
            "decision": "duplicate",
            "duplicate_of": uin,
            "reason": "same person, baptismal name",
        },
        headers=operator.headers,
    )
    assert decided.json()["state"] == "duplicate"
    assert identity_api.get("/identity/review/cases", headers=operator.headers).json() == []
