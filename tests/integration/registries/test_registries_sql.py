"""The registries' store on SQLite and PostgreSQL: bulk import with a validation report,
references between registries, search on the indexed slots against a brute-force answer, export,
and verification that catches a record changed behind the chain's back."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.kernel.hashchain import canonical_json
from baobab.registries import (
    Caller,
    RegistryService,
    example_schema,
    export_records,
    import_records,
    read_csv,
    read_jsonl,
    write_csv,
    write_jsonl,
)
from baobab.registries.adapters.search_statements import (
    count_statement,
    exists_statement,
    page_statement,
)
from baobab.registries.bulk import iter_rows
from baobab.registries.errors import BrokenReference, ImportRejected, UnknownRecord
from baobab.registries.examples import households
from baobab.registries.schema import compile_schema
from tests.integration.registries.conftest import OPERATOR
from tests.support import START

CODE, V = "social-registry", "1.0"


def jsonl(records: list[dict[str, Any]]) -> list[str]:
    return list(write_jsonl(records))


def count(platform: Platform, table: str) -> int:
    with platform.db.transaction() as c:
        return int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def test_import_all_or_nothing_reports_every_bad_row(
    social: RegistryService, wired: Platform
) -> None:
    good = list(households(30))
    rows = [*good[:10], {**good[10], "size": 0}, good[11], {**good[12], "colour": "red"}]
    rows += [good[0], *good[13:20], {**good[20], "head_identity": good[1]["head_identity"]}]
    lines = jsonl(rows)
    lines.insert(5, "{not json\n")
    with pytest.raises(ImportRejected) as refused:
        import_records(social, OPERATOR, CODE, V, read_jsonl(lines))
    report = refused.value.extra["report"]
    assert report["imported"] == 0
    assert report["rows"] == len(rows) + 1
    assert {(v["row"], v["field"]) for v in report["violations"]} == {
        (6, ""),  # the line that is not JSON
        (12, "size"),
        (14, "colour"),
        (15, "household_id"),  # row 1 again: the same id
        (15, "head_identity"),  # and the same unique value
        (23, "head_identity"),  # the same unique value as row 3
    }
    assert count(wired, "registries_records") == 0
    assert count(wired, "registries_revisions") == 0
    assert social.verify(OPERATOR, CODE).intact


def test_import_partial_keeps_good_rows_and_checks_the_registry(
    social: RegistryService, wired: Platform
) -> None:
    first = import_records(social, OPERATOR, CODE, V, iter_rows(households(50)))
    assert (first.rows, first.imported, first.violations) == (50, 50, [])
    again = list(households(55))  # 50 already there, 5 new
    clash = {**next(households(1, start=900)), "head_identity": again[0]["head_identity"]}
    report = import_records(
        social, OPERATOR, CODE, V, iter_rows([*again[1:], clash]), all_or_nothing=False
    )
    assert report.imported == 5
    assert report.rejected_rows == 50
    assert {v.reason for v in report.violations} == {
        "exists in the registry",
        "value held by another record",
    }
    page = social.search(OPERATOR, CODE, V, filters={}, page=1, page_size=1)
    assert page.count == 55
    verdict = social.verify(OPERATOR, CODE)
    assert verdict.intact
    assert verdict.revisions == 55


def test_import_stores_and_hashes_each_line_as_canonical_json(
    social: RegistryService, wired: Platform
) -> None:
    good = list(households(4))
    tiny = {**good[1], "poverty_score": 1e-05, "location": {"lat": -2.5e-07, "lon": 30.0}}
    lines = [
        json.dumps(good[0], indent=None, separators=(" ,", " : ")) + "\n",  # spaced, unsorted
        json.dumps(tiny) + "\n",  # floats orjson writes otherwise (0.00001, -2.5e-7)
        json.dumps({**good[2], "head_name": "\ud800"}) + "\n",  # a lone surrogate
        json.dumps(good[3], ensure_ascii=True) + "\n",
    ]
    report = import_records(social, OPERATOR, CODE, V, read_jsonl(lines), all_or_nothing=False)
    assert (report.imported, report.rejected_rows) == (3, 1)
    assert [v.as_dict() for v in report.violations] == [
        {"field": "", "reason": "holds a lone surrogate (\\ud800)", "row": 3}
    ]
    for record in (good[0], tiny, good[3]):
        key = {"household_id": record["household_id"]}
        assert dict(social.read(OPERATOR, CODE, V, key).data) == record
    with wired.db.transaction() as c:
        stored = c.execute(
            text("SELECT data FROM registries_revisions WHERE record_id = :id"),
            {"id": tiny["household_id"]},
        ).scalar_one()
    assert '"poverty_score":1e-05' in stored
    assert stored.encode() == canonical_json(tiny)
    assert social.verify(OPERATOR, CODE).intact  # every hash recomputed by the kernel


def test_csv_round_trip(social: RegistryService) -> None:
    schema = compile_schema(social.get_registry(CODE).current.schema_text)
    records = list(households(20))
    fields = sorted(schema.fields)
    csv_text = "".join(write_csv(records, fields))
    report = import_records(social, OPERATOR, CODE, V, read_csv(io.StringIO(csv_text), schema))
    assert report.imported == 20
    exported: list[Mapping[str, Any]] = []
    assert export_records(social, OPERATOR, CODE, V, exported.append) == 20
    assert sorted(exported, key=lambda d: d["household_id"]) == records
    header, row = list(csv.reader(io.StringIO(csv_text)))[:2]
    row[header.index("size")] = "many"
    out = io.StringIO()
    csv.writer(out).writerows([header, row])
    bad_csv = out.getvalue()
    with pytest.raises(ImportRejected) as refused:
        import_records(social, OPERATOR, CODE, V, read_csv(io.StringIO(bad_csv), schema))
    assert refused.value.extra["report"]["violations"][0] == {
        "field": "size",
        "reason": "expected integer, got 'many'",
        "row": 1,
    }


def test_search_agrees_with_brute_force(social: RegistryService) -> None:
    records = list(households(300, seed=11))
    import_records(social, OPERATOR, CODE, V, iter_rows(records))  # one bulk slice
    stored = social.read(OPERATOR, CODE, V, {"household_id": records[7]["household_id"]})
    assert (stored.created_at, stored.updated_at, stored.deleted) == (START, START, False)
    for district in ("Kati", "Mto", "Jua"):
        expected = sorted(
            (r for r in records if r["district"] == district),
            key=lambda r: (-r["poverty_score"], r["household_id"]),
        )
        found: list[Mapping[str, Any]] = []
        page = 1
        while True:
            got = social.search(
                OPERATOR,
                CODE,
                V,
                filters={"district": district},
                ordering="-poverty_score",
                page=page,
                page_size=17,
            )
            found.extend(r.data for r in got.records)
            if page * 17 >= got.count:
                break
            page += 1
        assert got.count == len(expected)
        assert [r["poverty_score"] for r in found] == [r["poverty_score"] for r in expected]
    both = social.search(
        OPERATOR, CODE, V, filters={"region": "Central", "village": "Kati-07"}, page_size=100
    )
    assert {r.record_id for r in both.records} == {
        r["household_id"] for r in records if r["region"] == "Central" and r["village"] == "Kati-07"
    }
    ascending = social.search(OPERATOR, CODE, V, filters={}, ordering="poverty_score", page_size=5)
    assert [r.data["poverty_score"] for r in ascending.records] == sorted(
        r["poverty_score"] for r in records
    )[:5]


def test_references_between_registries(social: RegistryService) -> None:
    social.define(
        OPERATOR,
        code="beneficiary-registry",
        version="1.0",
        schema=example_schema("beneficiary-registry"),
    )
    import_records(social, OPERATOR, CODE, V, iter_rows(households(3)))
    enrolment = {
        "beneficiary_id": "BN-00000001",
        "household_id": "HH-00000002",
        "programme": "cash-transfer",
        "status": "enrolled",
        "enrolled_on": "2026-01-10",
        "entitlement": {"amount_minor": 2500000, "currency": "TZS"},
    }
    social.create(OPERATOR, "beneficiary-registry", "1.0", enrolment)
    with pytest.raises(BrokenReference):
        social.create(
            OPERATOR,
            "beneficiary-registry",
            "1.0",
            {**enrolment, "beneficiary_id": "BN-00000002", "household_id": "HH-00000077"},
        )
    social.delete(OPERATOR, CODE, V, "HH-00000003", expected_version=1, reason="duplicate")
    with pytest.raises(ImportRejected) as refused:
        import_records(
            social,
            OPERATOR,
            "beneficiary-registry",
            "1.0",
            iter_rows(
                [{**enrolment, "beneficiary_id": "BN-00000003", "household_id": "HH-00000003"}]
            ),
        )
    assert refused.value.extra["report"]["violations"][0]["field"] == "household_id"


def test_a_record_changed_behind_the_chain_is_detected(
    social: RegistryService, wired: Platform
) -> None:
    import_records(social, OPERATOR, CODE, V, iter_rows(households(5)))
    social.update(
        OPERATOR,
        CODE,
        V,
        {"household_id": "HH-00000004"},
        {"size": 2},
        expected_version=1,
        reason="visit",
    )
    assert social.verify(OPERATOR, CODE).intact
    with wired.db.transaction() as c:  # point the record back at its first revision
        c.execute(
            text(
                "UPDATE registries_records SET revision_seq = 4, version = 1 "
                "WHERE record_id = 'HH-00000004'"
            )
        )
    verdict = social.verify(OPERATOR, CODE)
    assert not verdict.intact
    assert verdict.reason == "record HH-00000004 does not match its newest revision"
    with wired.db.transaction() as c:
        c.execute(text("DELETE FROM registries_revisions WHERE sequence = 6"))
    assert social.verify(OPERATOR, CODE).reason == "revisions after 5 were removed"


def test_deleted_records_leave_search_and_keep_history(social: RegistryService) -> None:
    import_records(social, OPERATOR, CODE, V, iter_rows(households(4)))
    target = social.read(OPERATOR, CODE, V, {"household_id": "HH-00000001"})
    social.delete(OPERATOR, CODE, V, "HH-00000001", expected_version=1, reason="died")
    assert not social.exists(OPERATOR, CODE, V, {"village": target.data["village"]}) or (
        social.search(OPERATOR, CODE, V, filters={"village": target.data["village"]}).count
        == sum(1 for r in households(4) if r["village"] == target.data["village"]) - 1
    )
    with pytest.raises(UnknownRecord):
        social.read_value(OPERATOR, CODE, V, "HH-00000001", "size")
    history = social.history(OPERATOR, CODE, "HH-00000001")
    assert [(h.change, h.reason) for h in history] == [
        ("create", "bulk import"),
        ("delete", "died"),
    ]
    assert history[-1].data is None
    # the freed unique value may be taken by a new record
    social.create(
        OPERATOR,
        CODE,
        V,
        {**next(households(1, start=50)), "head_identity": target.data["head_identity"]},
    )
    lines = list(write_jsonl([{"a": 1}]))
    assert json.loads(lines[0]) == {"a": 1}


def test_refusals_are_audited(social: RegistryService, wired: Platform) -> None:
    stranger = Caller("DEV/GOV/MOH/stranger")
    with pytest.raises(Exception, match="no right"):
        social.exists(stranger, CODE, V, {"district": "Kati"})
    with wired.db.transaction() as c:
        actions = c.execute(text("SELECT action, outcome FROM audit_log ORDER BY sequence")).all()
    assert ("registries.access_refused", "refused") in [tuple(a) for a in actions]


def test_a_large_export_logs_while_it_streams(social: RegistryService) -> None:
    import_records(social, OPERATOR, CODE, V, iter_rows(households(1200)))
    seen: list[str] = []
    assert (
        export_records(social, OPERATOR, CODE, V, lambda d: seen.append(d["household_id"])) == 1200
    )
    assert seen == sorted(seen)
    logged = social.disclosures(OPERATOR, CODE, limit=5000)
    assert len(logged) == 1200
    assert {d.operation for d in logged} == {"export"}


def numbered(sql: str) -> tuple[str, list[str]]:
    """A statement's ``%(name)s`` placeholders as ``$1``, ``$2``... (as PREPARE takes them),
    and the names in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), names


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_searches_use_the_slot_index_in_a_generic_plan(
    social: RegistryService, wired: Platform
) -> None:
    """A prepared statement may be planned once for any values (the driver prepares after five
    runs): the partial index of a slot must serve that generic plan too."""
    import_records(social, OPERATOR, CODE, V, iter_rows(households(300)))
    slots = compile_schema(json.dumps(example_schema(CODE), sort_keys=True)).index_slots
    shape = ((slots["village"], slots["region"]), False)
    statements = {
        "exists": exists_statement(shape),
        "count": count_statement(shape),
        "page": page_statement(shape, slots["poverty_score"], False),
    }
    with wired.db.transaction() as c:
        registry_id = c.execute(text("SELECT id FROM registries_registries")).scalar_one()
        c.execute(text("ANALYZE registries_records"))
        c.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        c.execute(text("SET LOCAL enable_seqscan = off"))
        values = {"registry_id": registry_id, "value_0": "V", "value_1": "R", "offset": 0}
        for name, statement in statements.items():
            sql, names = numbered(str(statement.compile(dialect=c.dialect)))
            c.exec_driver_sql(f"PREPARE {name} AS {sql}")
            arguments = ", ".join(repr(str(values.get(n, 10))) for n in names)
            plan = "\n".join(
                row[0] for row in c.exec_driver_sql(f"EXPLAIN EXECUTE {name}({arguments})")
            )
            assert re.search(r"\$\d", plan), plan  # a generic plan: no value is in it
            assert "ix_registries_records_k" in plan, plan
            assert "Seq Scan on registries_records" not in plan, plan
