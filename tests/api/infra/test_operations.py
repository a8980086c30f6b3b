"""Operational endpoints, request ids, metrics and problem+json for unknown routes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fastapi.testclient import TestClient

from baobab.asgi import create_app
from baobab.bootstrap import bootstrap
from baobab.infra.logging import JsonFormatter
from baobab.infra.settings import Settings


def test_health_and_ready(api: TestClient) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    assert api.get("/ready").json() == {"status": "ready"}


def test_ready_fails_until_the_schema_is_migrated(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path}/empty.db")
    platform = bootstrap(settings, upgrade=False)
    try:
        with TestClient(create_app(settings, platform=platform)) as client:
            response = client.get("/ready")
            assert response.status_code == 503
            assert response.json()["code"] == "infra.schema_not_current"
    finally:
        platform.close()


def test_request_ids_are_kept_or_made(api: TestClient) -> None:
    kept = api.get("/health", headers={"X-Request-Id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    made = api.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 36


def test_metrics_count_requests_by_route_template(api: TestClient) -> None:
    api.get("/directory/members/DEV/GOV/SECRET-ID")
    text = api.get("/metrics").text
    assert 'route="/directory/members/{instance}/{member_class}/{member_code}"' in text
    assert "SECRET-ID" not in text


def test_unknown_routes_answer_problem_json(api: TestClient) -> None:
    response = api.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "http.404"


def test_only_chosen_blocks_are_mounted(api: TestClient) -> None:
    platform = api.app.state.platform  # type: ignore[attr-defined]
    app = create_app(platform.settings, platform=platform, blocks=["audit"])
    paths = set(app.openapi()["paths"])
    assert "/audit/verify" in paths
    assert not any(p.startswith("/directory/") for p in paths)


def test_a_path_is_routed_only_to_the_block_its_prefix_names(api: TestClient) -> None:
    # /audit/... reaches the audit block (which refuses a caller without a token); a path that
    # merely starts with the same letters belongs to no block
    assert api.get("/audit/entries").status_code == 401
    assert api.get("/auditentries").status_code == 404
    assert api.get("/audit").status_code == 404


def test_each_request_writes_one_access_line_naming_the_route_template(
    api: TestClient,
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    access = logging.getLogger("baobab.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        response = api.get("/directory/members/DEV/GOV/SECRET-ID", headers={"X-Request-Id": "r-1"})
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert response.status_code == 401
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "r-1"
    assert line["route"] == "/directory/members/{instance}/{member_class}/{member_code}"
    assert line["status"] == 401
    assert line["method"] == "GET"
    assert "SECRET-ID" not in json.dumps(line)
