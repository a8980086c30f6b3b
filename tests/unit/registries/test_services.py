"""Registry use cases against in-memory fakes: rights per registry and operation, personal
fields, optimistic concurrency, schema evolution, history and its verification, bulk import."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import pytest

from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import BaobabError
from baobab.registries import Caller, RegistryService, example_schema, import_records
from baobab.registries.bulk import iter_rows
from baobab.registries.errors import (
    BreakingSchemaChange,
    DuplicateRecord,
    ImportRejected,
    InvalidDefinition,
    NoRight,
    PersonalFieldDenied,
    SchemaViolation,
    StaleVersion,
    UnknownRegistry,
    UnknownVersion,
    VersionNotCurrent,
    VersionRequired,
)
from baobab.registries.examples import households
from tests.support import START
from tests.unit.registries.fakes import FakeRegistries

OPERATOR = Caller("cli:operator", unrestricted=True)
CLERK = Caller("DEV/GOV/MOSD/clerk")
PLANNER = Caller("DEV/GOV/MOF/planner")
CODE, V = "social-registry", "1.0"


@pytest.fixture
def world() -> FakeRegistries:
    return FakeRegistries()


@pytest.fixture
def service(world: FakeRegistries) -> RegistryService:
    counter = iter(range(1, 10**6))
    svc = RegistryService(
        uow=world.uow, clock=ManualClock(START), ids=lambda: f"HH-{next(counter):08d}"
    )
    svc.define(OPERATOR, code=CODE, version=V, schema=example_schema(CODE))
    svc.grant(
        OPERATOR,
        code=CODE,
        client_id=CLERK.actor,
        operations=["read", "personal", "create", "update", "delete", "history"],
    )
    svc.grant(OPERATOR, code=CODE, client_id=PLANNER.actor, operations=["read"])
    return svc


def home(number: int, **changes: Any) -> dict[str, Any]:
    return {**next(households(1, start=number)), **changes}


def test_definitions_and_rights_are_audited(
    world: FakeRegistries, service: RegistryService
) -> None:
    assert world.actions()[:1] == ["registries.registry_defined"]
    assert world.actions().count("registries.right_granted") == 7
    service.revoke(OPERATOR, code=CODE, client_id=PLANNER.actor, operations=["read"])
    with pytest.raises(NoRight):
        service.search(PLANNER, CODE, V, filters={})
    assert world.actions()[-1] == "registries.access_refused"
    with pytest.raises(InvalidDefinition):
        service.grant(OPERATOR, code=CODE, client_id=PLANNER.actor, operations=["rule"])
    with pytest.raises(UnknownRegistry):
        service.grant(OPERATOR, code="farmers", client_id=PLANNER.actor, operations=["read"])


def test_a_generated_id_and_the_history_of_a_record(service: RegistryService) -> None:
    data = home(1)
    del data["household_id"]
    created = service.create(CLERK, CODE, V, data, reason="enrolment visit")
    assert created.record_id == "HH-00000001"
    service.update(
        CLERK,
        CODE,
        V,
        {"household_id": "HH-00000001"},
        {"size": 9},
        expected_version=1,
        reason="new baby",
    )
    history = service.history(CLERK, CODE, "HH-00000001")
    assert [(h.change, h.record_version, h.reason, h.actor) for h in history] == [
        ("create", 1, "enrolment visit", CLERK.actor),
        ("update", 2, "new baby", CLERK.actor),
    ]
    assert history[1].previous_hash == history[0].hash
    assert history[1].data is not None
    assert history[1].data["size"] == 9
    assert service.verify(CLERK, CODE).intact


def test_stale_and_missing_versions_change_nothing(
    world: FakeRegistries, service: RegistryService
) -> None:
    service.create(CLERK, CODE, V, home(1))
    service.update(CLERK, CODE, V, {"household_id": "HH-00000001"}, {"size": 2}, expected_version=1)
    before = dataclasses.replace(world.state)
    with pytest.raises(StaleVersion) as stale:
        service.update(
            CLERK, CODE, V, {"household_id": "HH-00000001"}, {"size": 3}, expected_version=1
        )
    assert stale.value.extra == {"current_version": 2}
    with pytest.raises(VersionRequired):
        service.update(
            CLERK, CODE, V, {"household_id": "HH-00000001"}, {"size": 3}, expected_version=None
        )
    with pytest.raises(VersionRequired):
        service.delete(CLERK, CODE, V, "HH-00000001", expected_version=None, reason="gone")
    assert world.state.records == before.records
    assert service.read(CLERK, CODE, V, {"household_id": "HH-00000001"}).data["size"] == 2


def test_personal_fields_need_the_right_and_reads_are_logged(
    world: FakeRegistries, service: RegistryService
) -> None:
    service.create(CLERK, CODE, V, home(1))
    shown = service.read(PLANNER, CODE, V, {"household_id": "HH-00000001"})
    assert not {"head_name", "phone", "members", "location", "head_identity"} & set(shown.data)
    with pytest.raises(PersonalFieldDenied):
        service.read_value(PLANNER, CODE, V, "HH-00000001", "phone")
    with pytest.raises(PersonalFieldDenied):
        service.search(PLANNER, CODE, V, filters={}, ordering="head_identity")
    planner_history = Caller(PLANNER.actor)
    with pytest.raises(NoRight):
        service.history(planner_history, CODE, "HH-00000001")
    assert world.state.disclosures == []
    full = service.read(CLERK, CODE, V, {"household_id": "HH-00000001"})
    assert full.data["phone"].startswith("+255")
    logged = [d for _, d in world.state.disclosures]
    assert [(d.actor, d.operation, d.record_id) for d in logged] == [
        (CLERK.actor, "read", "HH-00000001")
    ]
    assert set(logged[0].fields) == {"head_name", "head_identity", "phone", "location", "members"}


def test_writes_go_to_the_current_version_and_breaking_changes_are_refused(
    service: RegistryService,
) -> None:
    service.create(CLERK, CODE, V, home(1))
    schema = example_schema(CODE)
    narrower = {
        **schema,
        "properties": {**schema["properties"], "size": {"type": "integer", "maximum": 0}},
    }
    with pytest.raises(BreakingSchemaChange) as refused:
        service.define(OPERATOR, code=CODE, version="1.1", schema=narrower)
    assert refused.value.extra["violations"][0]["field"] == "size"
    with pytest.raises(InvalidDefinition):
        service.define(OPERATOR, code=CODE, version="0.9", schema=schema)
    renamed = {**schema, "properties": {**schema["properties"]}}
    renamed["properties"]["household_id"] = {**schema["properties"]["household_id"], "x-id": False}
    renamed["properties"]["head_identity"] = {
        "type": "string",
        "maxLength": 128,
        "x-id": True,
    }
    with pytest.raises(BreakingSchemaChange):
        service.define(OPERATOR, code=CODE, version="1.1", schema=renamed)
    service.define(OPERATOR, code=CODE, version="1.1", schema=schema)
    with pytest.raises(VersionNotCurrent):
        service.create(CLERK, CODE, V, home(2))
    with pytest.raises(UnknownVersion):
        service.create(CLERK, CODE, "2.0", home(2))
    service.create(CLERK, CODE, "1.1", home(2))


def test_a_tampered_revision_fails_verification(
    world: FakeRegistries, service: RegistryService
) -> None:
    for n in (1, 2, 3):
        service.create(CLERK, CODE, V, home(n))
    rows = world.state.revisions[1]
    rows[1] = rows[1]._replace(
        data_text=str(rows[1].data_text).replace('"region":"', '"region":"X')
    )
    verdict = service.verify(CLERK, CODE)
    assert (verdict.intact, verdict.first_broken) == (False, 2)
    world.state.revisions[1].pop(1)
    assert service.verify(CLERK, CODE).reason == "entry 2 is missing or reordered"


def test_bad_writes_change_nothing(world: FakeRegistries, service: RegistryService) -> None:
    service.create(CLERK, CODE, V, home(1))
    snapshot = (dict(world.state.records), dict(world.state.index))
    failures: list[tuple[Any, type[BaobabError]]] = [
        (lambda: service.create(CLERK, CODE, V, home(2, size=99)), SchemaViolation),
        (lambda: service.create(CLERK, CODE, V, home(1)), DuplicateRecord),
        (lambda: service.create(PLANNER, CODE, V, home(2)), NoRight),
        (lambda: service.create(CLERK, "farmers", V, home(2)), UnknownRegistry),
    ]
    for action, kind in failures:
        with pytest.raises(kind):
            action()
        assert (world.state.records, world.state.index) == snapshot


def test_import_is_all_or_nothing_by_default(
    world: FakeRegistries, service: RegistryService
) -> None:
    rows = [*households(5), {**next(households(1, start=6)), "size": 0}]
    with pytest.raises(ImportRejected) as refused:
        import_records(service, CLERK, CODE, V, iter_rows(rows))
    assert refused.value.extra["report"]["violations"] == [
        {"field": "size", "reason": "must be at least 1", "row": 6}
    ]
    assert world.state.records == {}
    seen: list[int] = []
    report = import_records(
        service,
        CLERK,
        CODE,
        V,
        iter_rows(rows),
        all_or_nothing=False,
        progress=seen.append,
        slice_size=2,
    )
    assert (report.imported, report.rejected_rows) == (5, 1)
    assert not world.state.analysed  # too small a load to matter
    assert seen[-1] == 6
    assert service.verify(CLERK, CODE).revisions == 5
    with pytest.raises(NoRight):
        import_records(service, PLANNER, CODE, V, iter_rows(rows))


@pytest.mark.parametrize("enabled", [True, False])
def test_an_import_leaves_the_garbage_collector_as_it_found_it(
    service: RegistryService, enabled: bool
) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        import_records(service, CLERK, CODE, V, iter_rows(households(3)))
        assert gc.isenabled() is enabled
        bad = [{**next(households(1, start=9)), "size": 0}]
        with pytest.raises(ImportRejected):
            import_records(service, CLERK, CODE, V, iter_rows(bad))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
