"""The consent API in process, on SQLite and PostgreSQL: an organisation defines an agreement,
an individual gives and withdraws consent, the check follows at once; organisations see only
their own; bad input gets a specific problem code and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.directory import Role
from tests.api.directory.test_directory_api import problem
from tests.api.infra.test_deny_by_default import protected_routes
from tests.support import Caller, register
from tests.unit.consent.examples import ALICE, BOB, terms_json

AGREEMENTS = "/consent/config/agreement/"
CHECK = "/consent/service/verification/check/"


@pytest.fixture
def bank(platform: Platform) -> Caller:
    return register(
        platform,
        "COM/BANKA/onboarding",
        scopes=("consent:admin", "consent:read", "consent:individual", "consent:check"),
        roles=(Role.FSP,),
    )


@pytest.fixture
def other_bank(platform: Platform) -> Caller:
    return register(
        platform,
        "COM/BANKB/onboarding",
        scopes=("consent:admin", "consent:read", "consent:individual", "consent:check"),
        roles=(Role.FSP,),
    )


@pytest.fixture
def gateway(platform: Platform) -> Caller:
    return register(platform, "GOV/OPS/gateway", scopes=("consent:check",), roles=(Role.OPERATOR,))


def as_individual(caller: Caller, token: str) -> dict[str, str]:
    return {**caller.headers, "X-ConsentBB-IndividualId": token}


def create(api: TestClient, caller: Caller, **changes: Any) -> dict[str, Any]:
    response = api.post(AGREEMENTS, json=terms_json(**changes), headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ask(api: TestClient, caller: Caller, agreement_id: str, **changes: str) -> Any:
    body = {
        "individual": ALICE,
        "agreement_id": agreement_id,
        "purpose": "ekyc",
        "recipient": "DEV/COM/BANKA",
        **changes,
    }
    return api.post(CHECK, json=body, headers=caller.headers)


def test_give_check_withdraw_check(consent_api: TestClient, bank: Caller, gateway: Caller) -> None:
    api = consent_api
    agreement = create(api, bank)
    assert (agreement["organisation"], agreement["revision"], agreement["active"]) == (
        "DEV/COM/BANKA",
        1,
        True,
    )
    agreement_id = agreement["id"]
    assert ask(api, gateway, agreement_id).json()["reason"] == "no_consent"

    shown = api.get(f"/consent/service/agreement/{agreement_id}/", headers=bank.headers)
    assert shown.json()["purpose"] == "ekyc"
    given = api.post(
        f"/consent/service/individual/record/agreement/{agreement_id}/",
        json={"channel": "mobile"},
        headers=as_individual(bank, ALICE),
    )
    assert given.status_code == 200, given.text
    record = given.json()
    assert (record["state"], record["sequence"], record["channel"]) == ("given", 1, "mobile")
    decision = ask(api, gateway, agreement_id).json()
    assert (decision["allowed"], decision["reason"]) == (True, "consent_given")
    assert decision["record_id"] == record["id"]

    view = api.get(
        "/consent/service/individual/record/agreement/", headers=as_individual(bank, ALICE)
    ).json()
    assert [(r["id"], r["agreement_id"]) for r in view] == [(record["id"], agreement_id)]

    withdrawn = api.put(
        f"/consent/service/individual/record/consentrecord/{record['id']}/",
        json={"opt_in": False, "channel": "mobile"},
        headers=as_individual(bank, ALICE),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["state"], withdrawn.json()["sequence"]) == ("withdrawn", 2)
    decision = ask(api, gateway, agreement_id).json()
    assert (decision["allowed"], decision["reason"]) == (False, "withdrawn")
    batch = api.post(
        "/consent/service/verification/checks/",
        json={
            "individuals": [ALICE, BOB],
            "agreement_id": agreement_id,
            "purpose": "ekyc",
            "recipient": "DEV/COM/BANKA",
        },
        headers=gateway.headers,
    )
    assert [d["reason"] for d in batch.json()] == ["withdrawn", "no_consent"]

    current = api.get(
        f"/consent/service/individual/record/agreement/{agreement_id}/",
        headers=as_individual(bank, ALICE),
    ).json()
    assert current["state"] == "withdrawn"
    audit = api.get(f"/consent/audit/consentrecord/{record['id']}/", headers=bank.headers).json()
    assert [r["sequence"] for r in audit["revisions"]] == [1, 2]
    verdict = api.get(f"/consent/audit/consentrecord/{record['id']}/verify/", headers=bank.headers)
    assert verdict.json() == {
        "record_id": record["id"],
        "intact": True,
        "first_broken_revision": None,
        "reason": None,
    }
    exported = api.get(
        f"/consent/audit/consentrecord/{record['id']}/export/", headers=bank.headers
    ).json()
    assert [e["eventState"] for e in exported["events"]] == ["consent given", "consent withdrawn"]
    listed = api.get(
        "/consent/audit/consentrecords/", params={"opt_in": "false"}, headers=bank.headers
    ).json()
    assert [r["id"] for r in listed] == [record["id"]]


def test_revisions_and_retirement(consent_api: TestClient, bank: Caller, gateway: Caller) -> None:
    api = consent_api
    agreement_id = create(api, bank)["id"]
    api.post(
        f"/consent/service/individual/record/agreement/{agreement_id}/",
        json={},
        headers=as_individual(bank, ALICE),
    )
    path = f"{AGREEMENTS}{agreement_id}/"
    revised = api.put(path, json=terms_json(retention_days=30), headers=bank.headers)
    assert (revised.status_code, revised.json()["revision"]) == (200, 2)
    assert ask(api, gateway, agreement_id).json()["reason"] == "revision_not_covered"
    compatible = api.put(path, json=terms_json(compatible_from=1), headers=bank.headers)
    assert compatible.json()["revision"] == 3
    assert ask(api, gateway, agreement_id).json()["allowed"] is True
    retired = api.delete(path, headers=bank.headers)
    assert (retired.json()["revision"], retired.json()["active"]) == (4, False)
    assert ask(api, gateway, agreement_id).json()["reason"] == "agreement_inactive"
    history = api.get(path + "revisions/", headers=bank.headers).json()
    assert [(r["revision"], r["retention_days"]) for r in history] == [
        (1, 365),
        (2, 30),
        (3, 365),
        (4, 365),
    ]
    assert history[1]["previous_hash"] == history[0]["revision_hash"]
    listed = api.get("/consent/config/agreements/", headers=bank.headers).json()
    assert [(a["id"], a["revision"]) for a in listed] == [(agreement_id, 4)]


def test_an_organisation_cannot_see_or_use_another_organisations(
    consent_api: TestClient, bank: Caller, other_bank: Caller
) -> None:
    api = consent_api
    agreement_id = create(api, bank)["id"]
    record = api.post(
        f"/consent/service/individual/record/agreement/{agreement_id}/",
        json={},
        headers=as_individual(bank, ALICE),
    ).json()
    for path in (
        f"{AGREEMENTS}{agreement_id}/",
        f"/consent/service/agreement/{agreement_id}/",
    ):
        problem(api.get(path, headers=other_bank.headers), 404, "consent.unknown_agreement")
    for suffix in ("", "verify/", "export/"):
        response = api.get(
            f"/consent/audit/consentrecord/{record['id']}/{suffix}", headers=other_bank.headers
        )
        problem(response, 404, "consent.unknown_record")
    assert api.get("/consent/audit/consentrecords/", headers=other_bank.headers).json() == []
    assert api.get("/consent/config/agreements/", headers=other_bank.headers).json() == []
    problem(
        api.get(
            "/consent/service/individual/record/agreement/",
            headers=as_individual(other_bank, ALICE),
        ),
        403,
        "consent.foreign_individual",
    )
    problem(
        api.put(
            f"/consent/service/individual/record/consentrecord/{record['id']}/",
            json={"opt_in": False},
            headers=as_individual(other_bank, ALICE),
        ),
        404,
        "consent.unknown_record",
    )
    problem(ask(api, other_bank, agreement_id), 403, "consent.check_not_permitted")


def snapshot(api: TestClient, caller: Caller) -> list[Any]:
    return [
        api.get("/consent/config/agreements/", headers=caller.headers).json(),
        api.get("/consent/audit/consentrecords/", headers=caller.headers).json(),
        api.get("/audit/verify", headers=caller.headers).status_code,
    ]


def test_bad_input_gets_a_specific_code_and_changes_nothing(
    consent_api: TestClient, bank: Caller, other_bank: Caller, platform: Platform
) -> None:
    api = consent_api
    agreement_id = create(api, bank)["id"]
    duty_id = create(api, bank, lawful_basis="legal_obligation")["id"]
    api.post(
        "/consent/service/individual/", json={"token": BOB}, headers=other_bank.headers
    ).raise_for_status()
    before = snapshot(api, bank)
    record_path = "/consent/service/individual/record/agreement/{}/"
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int, str]] = [
        (
            "POST",
            record_path.format("nope"),
            {},
            as_individual(bank, ALICE),
            404,
            "consent.unknown_agreement",
        ),
        (
            "POST",
            record_path.format(agreement_id),
            {},
            as_individual(bank, BOB),
            403,
            "consent.foreign_individual",
        ),
        (
            "POST",
            record_path.format(agreement_id),
            {},
            as_individual(bank, "1234"),
            400,
            "consent.invalid_individual_token",
        ),
        (
            "POST",
            record_path.format(duty_id),
            {"opt_in": False},
            as_individual(bank, ALICE),
            400,
            "consent.opt_out_not_allowed",
        ),
        (
            "POST",
            record_path.format(duty_id),
            {},
            as_individual(bank, ALICE),
            400,
            "consent.consent_not_applicable",
        ),
        (
            "POST",
            record_path.format(agreement_id),
            {"channel": "carrier-pigeon"},
            as_individual(bank, ALICE),
            422,
            "http.invalid_request",
        ),
        ("POST", record_path.format(agreement_id), {}, bank.headers, 422, "http.invalid_request"),
        (
            "POST",
            AGREEMENTS,
            terms_json(recipients=["nobody"]),
            bank.headers,
            400,
            "consent.invalid_agreement",
        ),
        (
            "POST",
            AGREEMENTS,
            terms_json(lawful_basis="whim"),
            bank.headers,
            422,
            "http.invalid_request",
        ),
        (
            "POST",
            AGREEMENTS,
            {**terms_json(), "active": False},
            bank.headers,
            422,
            "http.invalid_request",
        ),
        (
            "PUT",
            f"{AGREEMENTS}{agreement_id}/",
            terms_json(compatible_from=9),
            bank.headers,
            400,
            "consent.invalid_agreement",
        ),
        (
            "PUT",
            f"{AGREEMENTS}{agreement_id}/",
            terms_json(),
            other_bank.headers,
            404,
            "consent.unknown_agreement",
        ),
        (
            "DELETE",
            f"{AGREEMENTS}{agreement_id}/",
            None,
            other_bank.headers,
            404,
            "consent.unknown_agreement",
        ),
        (
            "POST",
            CHECK,
            {
                "individual": ALICE,
                "agreement_id": "nope",
                "purpose": "ekyc",
                "recipient": "DEV/COM/BANKA",
            },
            bank.headers,
            404,
            "consent.unknown_agreement",
        ),
    ]
    for method, path, body, headers, status, code in cases:
        response = api.request(method, path, json=body, headers=headers)
        problem(response, status, code)
    assert snapshot(api, bank) == before


def test_every_consent_route_needs_a_token_and_its_scope(
    consent_api: TestClient, platform: Platform
) -> None:
    routes = [(m, p) for m, p in protected_routes(consent_api) if p.startswith("/consent/")]
    assert len(routes) == 19
    everything_else = register(
        platform,
        "GOV/NOBODY/sub",
        scopes=("directory:read", "directory:admin", "audit:read"),
    )
    for method, path in routes:
        anonymous = consent_api.request(method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["code"] == "auth.missing_token"
        unscoped = consent_api.request(method, path, headers=everything_else.headers)
        assert unscoped.status_code == 403, (method, path, unscoped.text)
        assert unscoped.json()["code"] == "auth.missing_scope"


def test_each_scope_opens_only_its_own_routes(consent_api: TestClient, platform: Platform) -> None:
    checker = register(platform, "GOV/OPS/gateway", scopes=("consent:check",))
    for method, path in protected_routes(consent_api):
        if not path.startswith("/consent/"):
            continue
        response = consent_api.request(method, path, headers=checker.headers)
        if path.startswith("/consent/service/verification/"):
            assert response.status_code != 403, (method, path)
        else:
            assert response.status_code == 403, (method, path, response.text)
