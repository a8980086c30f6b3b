"""The registries' HTTP API in process, on SQLite and PostgreSQL: the GovStack data and database
routes, rights per registry and operation, personal fields, and bad input refused with a specific
code and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.registries import example_schema
from tests.support import Caller, register

DATA = "/registries/data/social-registry/1.0"
ALL = ("read", "personal", "create", "update", "delete", "history")


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def household(number: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "household_id": f"HH-{number:08d}",
        "head_name": f"Head {number}",
        "head_identity": f"token{number:08d}",
        "region": "North",
        "district": "Kaskazi",
        "village": f"Kaskazi-{number % 3:02d}",
        "size": 1 + number % 5,
        "poverty_score": float(number % 97),
        "registered_on": "2025-03-01",
    }
    data.update(changes)
    return data


@pytest.fixture
def admin_r(wired: Platform) -> Caller:
    return register(
        wired,
        "GOV/MOSD/console",
        scopes=("registries:admin", "registries:read", "registries:write"),
    )


@pytest.fixture
def defined(rapi: TestClient, admin_r: Caller) -> TestClient:
    body = {
        "code": "social-registry",
        "version": "1.0",
        "schema": example_schema("social-registry"),
    }
    created = rapi.post("/registries/database/modify", json=body, headers=admin_r.headers)
    assert created.status_code == 201, created.text
    return rapi


def officer(
    wired: Platform, api: TestClient, admin_r: Caller, name: str, operations: tuple[str, ...]
) -> Caller:
    caller = register(wired, name, scopes=("registries:read", "registries:write"))
    if operations:
        granted = api.post(
            "/registries/database/social-registry/rights",
            json={"client_id": str(caller.client_id), "operations": list(operations)},
            headers=admin_r.headers,
        )
        assert granted.status_code == 201, granted.text
    return caller


def create(api: TestClient, who: Caller, data: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"{DATA}/create", json={"write": {"content": data}}, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_define_and_describe_a_registry(defined: TestClient, admin_r: Caller) -> None:
    listed = defined.get("/registries/databases", headers=admin_r.headers).json()
    assert [d["code"] for d in listed] == ["social-registry"]
    shown = defined.get("/registries/database/social-registry", headers=admin_r.headers).json()
    assert shown["current_version"] == "1.0"
    assert shown["id_field"] == "household_id"
    marks = {f["name"]: f for f in shown["fields"]}
    assert marks["head_name"]["personal"] is True
    assert marks["head_identity"]["unique"] is True
    assert marks["head_identity"]["reference"] == "identity:token"
    assert marks["district"]["indexed"] is True
    assert marks["size"]["indexed"] is False
    again = defined.post(
        "/registries/database/modify",
        json={
            "code": "social-registry",
            "version": "1.0",
            "schema": example_schema("social-registry"),
        },
        headers=admin_r.headers,
    )
    problem(again, 409, "registries.duplicate_version")
    bad = defined.post(
        "/registries/database/modify",
        json={"code": "farmers", "version": "1.0", "schema": {"type": "object", "oneOf": []}},
        headers=admin_r.headers,
    )
    problem(bad, 400, "registries.invalid_schema")


def test_records_round_trip(defined: TestClient, wired: Platform, admin_r: Caller) -> None:
    clerk = officer(wired, defined, admin_r, "GOV/MOSD/clerk", ALL)
    created = create(defined, clerk, household(1))
    assert created["meta"] == {**created["meta"], "id": "HH-00000001", "version": 1}
    for n in range(2, 8):
        create(defined, clerk, household(n))
    read = defined.post(
        f"{DATA}/read",
        json={"query": {"content": {"household_id": "HH-00000003"}}},
        headers=clerk.headers,
    )
    assert read.json()["content"]["head_name"] == "Head 3"
    exists = defined.post(
        f"{DATA}/exists",
        json={"query": {"content": {"village": "Kaskazi-01"}}},
        headers=clerk.headers,
    )
    assert exists.json()["answer"]["status"] is True
    missing = defined.post(
        f"{DATA}/exists",
        json={"query": {"content": {"village": "Nowhere"}}},
        headers=clerk.headers,
    )
    assert missing.json()["answer"]["status"] is False
    page = defined.get(
        DATA,
        params={"query.district": "Kaskazi", "ordering": "-poverty_score", "page_size": 3},
        headers=clerk.headers,
    ).json()
    assert page["count"] == 7
    assert [r["content"]["poverty_score"] for r in page["results"]] == [7.0, 6.0, 5.0]
    assert page["next"] is not None
    assert page["previous"] is None
    second = defined.get(page["next"], headers=clerk.headers).json()
    assert [r["meta"]["id"] for r in second["results"]] == [
        "HH-00000004",
        "HH-00000003",
        "HH-00000002",
    ]
    value = defined.get(f"{DATA}/HH-00000002/read-value/size.json", headers=clerk.headers)
    assert value.json() == {"value": 3}
    updated = defined.put(
        f"{DATA}/update",
        json={
            "query": {"content": {"household_id": "HH-00000002"}},
            "write": {"content": {"size": 4, "phone": "+255700000002"}},
            "version": 1,
            "reason": "home visit",
        },
        headers=clerk.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["meta"]["version"] == 2
    upsert = defined.post(
        f"{DATA}/update-or-create",
        json={
            "query": {"content": {"household_id": "HH-00000099"}},
            "write": {"content": household(99)},
        },
        headers=clerk.headers,
    )
    assert upsert.json()["created"] is True
    history = defined.get(f"{DATA}/HH-00000002/history", headers=clerk.headers).json()
    assert [(h["operation"], h["record_version"], h["reason"]) for h in history] == [
        ("create", 1, ""),
        ("update", 2, "home visit"),
    ]
    assert history[1]["actor"] == str(clerk.client_id)
    assert history[1]["previous_hash"] == history[0]["hash"] or history[1]["sequence"] > 2
    deleted = defined.delete(
        f"{DATA}/HH-00000002/delete",
        params={"version": 2, "reason": "moved away"},
        headers=clerk.headers,
    )
    assert deleted.status_code == 204, deleted.text
    gone = defined.post(
        f"{DATA}/read",
        json={"query": {"content": {"household_id": "HH-00000002"}}},
        headers=clerk.headers,
    )
    problem(gone, 404, "registries.unknown_record")
    verdict = defined.get(f"{DATA}/verify", headers=clerk.headers).json()
    assert verdict == {**verdict, "intact": True, "revisions": 10}


def test_personal_fields_hidden_and_reads_logged(
    defined: TestClient, wired: Platform, admin_r: Caller
) -> None:
    clerk = officer(wired, defined, admin_r, "GOV/MOSD/clerk", ALL)
    planner = officer(wired, defined, admin_r, "GOV/MOF/planner", ("read",))
    create(defined, clerk, household(1))
    seen = defined.post(
        f"{DATA}/read",
        json={"query": {"content": {"household_id": "HH-00000001"}}},
        headers=planner.headers,
    ).json()["content"]
    assert "head_name" not in seen
    assert "head_identity" not in seen
    assert seen["district"] == "Kaskazi"
    denied = defined.get(f"{DATA}/HH-00000001/read-value/head_name.json", headers=planner.headers)
    problem(denied, 403, "registries.personal_field_denied")
    by_personal = defined.post(
        f"{DATA}/exists",
        json={"query": {"content": {"head_identity": "token00000001"}}},
        headers=planner.headers,
    )
    problem(by_personal, 403, "registries.personal_field_denied")
    before = defined.get(f"{DATA}/disclosures", headers=clerk.headers).json()
    assert before == []
    name = defined.get(f"{DATA}/HH-00000001/read-value/head_name.json", headers=clerk.headers)
    assert name.json() == {"value": "Head 1"}
    defined.get(DATA, params={"query.district": "Kaskazi"}, headers=clerk.headers)
    log = defined.get(f"{DATA}/disclosures", headers=clerk.headers).json()
    assert [(d["operation"], d["actor"], d["record_id"]) for d in log] == [
        ("read-value", str(clerk.client_id), "HH-00000001"),
        ("search", str(clerk.client_id), "HH-00000001"),
    ]
    assert log[0]["fields"] == ["head_name"]
    assert "head_identity" in log[1]["fields"]
    assert [d["sequence"] for d in log] == [1, 2]
    assert log[1]["previous_hash"] == log[0]["hash"]
    after = defined.get(f"{DATA}/disclosures", params={"after": 1}, headers=clerk.headers).json()
    assert after == log[1:]
    verdict = defined.get(f"{DATA}/verify", headers=clerk.headers).json()
    assert (verdict["intact"], verdict["disclosures"]) == (True, 2)


def snapshot(platform: Platform) -> list[Any]:
    with platform.db.transaction() as c:
        return [
            c.execute(
                text("SELECT record_id, version, deleted FROM registries_records ORDER BY 1")
            ).all(),
            c.execute(text("SELECT count(*) FROM registries_revisions")).scalar_one(),
            c.execute(
                text("SELECT record_id, k1, k2, k3, k4, k5, k6, k7, k8 FROM registries_records")
            ).all(),
        ]


def test_bad_requests_change_nothing(defined: TestClient, wired: Platform, admin_r: Caller) -> None:
    clerk = officer(wired, defined, admin_r, "GOV/MOSD/clerk", ALL)
    stranger = officer(wired, defined, admin_r, "GOV/MOH/stranger", ())
    create(defined, clerk, household(1))
    create(defined, clerk, household(2))
    before = snapshot(wired)
    cases: list[tuple[str, str, dict[str, Any], Caller, int, str]] = [
        (
            "POST",
            f"{DATA}/create",
            {"write": {"content": household(3, size=0, extra=1)}},
            clerk,
            400,
            "registries.schema_violation",
        ),
        (
            "POST",
            f"{DATA}/create",
            {"write": {"content": household(1)}},
            clerk,
            409,
            "registries.duplicate_record",
        ),
        (
            "POST",
            f"{DATA}/create",
            {"write": {"content": household(3, head_identity="token00000001")}},
            clerk,
            409,
            "registries.unique_violation",
        ),
        (
            "POST",
            f"{DATA}/create",
            {"write": {"content": household(3, head_identity="bad token!")}},
            clerk,
            400,
            "registries.broken_reference",
        ),
        (
            "POST",
            "/registries/data/farmers/1.0/create",
            {"write": {"content": {}}},
            clerk,
            404,
            "registries.unknown_registry",
        ),
        (
            "POST",
            "/registries/data/social-registry/9.9/create",
            {"write": {"content": household(3)}},
            clerk,
            404,
            "registries.unknown_version",
        ),
        (
            "POST",
            f"{DATA}/create",
            {"write": {"content": household(3)}},
            stranger,
            403,
            "registries.no_right",
        ),
        (
            "PUT",
            f"{DATA}/update",
            {
                "query": {"content": {"household_id": "HH-00000001"}},
                "write": {"content": {"size": 2}},
                "version": 7,
            },
            clerk,
            409,
            "registries.stale_version",
        ),
        (
            "PUT",
            f"{DATA}/update",
            {
                "query": {"content": {"household_id": "HH-00000001"}},
                "write": {"content": {"size": 2}},
            },
            clerk,
            400,
            "registries.version_required",
        ),
        (
            "PUT",
            f"{DATA}/update",
            {
                "query": {"content": {"district": "Kaskazi"}},
                "write": {"content": {"size": 2}},
                "version": 1,
            },
            clerk,
            409,
            "registries.ambiguous_query",
        ),
        (
            "PUT",
            f"{DATA}/update",
            {"query": {"content": {"size": 2}}, "write": {"content": {"size": 2}}, "version": 1},
            clerk,
            400,
            "registries.field_not_searchable",
        ),
        (
            "PUT",
            f"{DATA}/update",
            {
                "query": {"content": {"household_id": "HH-00000001"}},
                "write": {"content": {"size": "big"}},
                "version": 1,
            },
            clerk,
            400,
            "registries.schema_violation",
        ),
        (
            "POST",
            f"{DATA}/read",
            {"query": {"content": {"colour": "red"}}},
            clerk,
            400,
            "registries.unknown_field",
        ),
    ]
    for method, path, body, who, status, code in cases:
        response = defined.request(method, path, json=body, headers=who.headers)
        problem(response, status, code)
        assert snapshot(wired) == before, (path, code)
    stale_delete = defined.delete(
        f"{DATA}/HH-00000001/delete", params={"version": 5, "reason": "x"}, headers=clerk.headers
    )
    problem(stale_delete, 409, "registries.stale_version")
    no_reason = defined.delete(
        f"{DATA}/HH-00000001/delete", params={"version": 1, "reason": " "}, headers=clerk.headers
    )
    problem(no_reason, 400, "registries.reason_required")
    violation = defined.post(
        f"{DATA}/create", json={"write": {"content": household(3, size=0)}}, headers=clerk.headers
    ).json()
    assert {"field": "size", "reason": "must be at least 1"} in violation["violations"]
    assert snapshot(wired) == before


def test_versions_evolve_without_breaking_records(
    defined: TestClient, wired: Platform, admin_r: Caller
) -> None:
    clerk = officer(wired, defined, admin_r, "GOV/MOSD/clerk", ALL)
    create(defined, clerk, household(1))
    schema = example_schema("social-registry")
    breaking = {**schema, "required": [*schema["required"], "phone"]}
    refused = defined.post(
        "/registries/database/modify",
        json={"code": "social-registry", "version": "1.1", "schema": breaking},
        headers=admin_r.headers,
    )
    body = problem(refused, 409, "registries.breaking_schema_change")
    assert body["violations"] == [
        {"record": "HH-00000001", "field": "phone", "reason": "is required"}
    ]
    grown = {
        **schema,
        "properties": {
            **schema["properties"],
            "size": {"type": "integer", "minimum": 1, "maximum": 40, "x-indexed": True},
            "water_source": {"type": "string", "maxLength": 64},
        },
    }
    published = defined.post(
        "/registries/database/modify",
        json={"code": "social-registry", "version": "1.1", "schema": grown},
        headers=admin_r.headers,
    )
    assert published.status_code == 201, published.text
    old_write = defined.post(
        f"{DATA}/create", json={"write": {"content": household(2)}}, headers=clerk.headers
    )
    problem(old_write, 409, "registries.version_not_current")
    new = "/registries/data/social-registry/1.1"
    created = defined.post(
        f"{new}/create",
        json={"write": {"content": household(2, water_source="borehole")}},
        headers=clerk.headers,
    )
    assert created.status_code == 200, created.text
    by_size = defined.get(new, params={"query.size": "2"}, headers=clerk.headers).json()
    assert [r["meta"]["id"] for r in by_size["results"]] == ["HH-00000001"]
    village = household(1)["village"]  # its index moved to another slot with the new version
    by_village = defined.get(new, params={"query.village": village}, headers=clerk.headers)
    assert "HH-00000001" in [r["meta"]["id"] for r in by_village.json()["results"]]
    old_view = defined.post(
        f"{DATA}/read",
        json={"query": {"content": {"household_id": "HH-00000002"}}},
        headers=clerk.headers,
    ).json()["content"]
    assert "water_source" not in old_view


def test_a_tampered_revision_is_detected(
    defined: TestClient, wired: Platform, admin_r: Caller
) -> None:
    clerk = officer(wired, defined, admin_r, "GOV/MOSD/clerk", ALL)
    for n in (1, 2, 3):
        create(defined, clerk, household(n))
    with wired.db.transaction() as c:
        c.execute(
            text(
                "UPDATE registries_revisions SET data = replace(data, 'Head 2', 'Someone else') "
                "WHERE sequence = 2"
            )
        )
    verdict = defined.get(f"{DATA}/verify", headers=clerk.headers).json()
    assert verdict["intact"] is False
    assert verdict["first_broken_revision"] == 2
    assert verdict["reason"] == "content does not match its hash"


def test_every_route_needs_a_token_and_a_scope(rapi: TestClient, wired: Platform) -> None:
    nobody = register(wired, "GOV/NOBODY/sub")
    paths = {
        template: operations
        for template, operations in rapi.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        if template.startswith("/registries/")
    }
    assert len(paths) >= 14
    for template, operations in paths.items():
        path = template.replace("{ext}", "json")
        for part in ("{registry}", "{version}", "{record_id}", "{field}"):
            path = path.replace(part, "x")
        for method in operations:
            anonymous = rapi.request(method.upper(), path)
            problem(anonymous, 401, "auth.missing_token")
            unscoped = rapi.request(method.upper(), path, headers=nobody.headers)
            problem(unscoped, 403, "auth.missing_scope")
