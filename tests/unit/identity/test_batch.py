"""Reading a register file into person records and writing the cluster report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import astuple, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baobab.identity.batch import (
    FIELDS,
    RegisterFileError,
    file_format,
    read_register,
    summarise,
    write_clusters,
)
from baobab.identity.matching import PersonRecord
from baobab.identity.matching.population import generate_population


def as_csv(rows: Sequence[Mapping[str, object]], header: list[str] | None = None) -> list[bytes]:
    text = io.StringIO()
    writer = csv.DictWriter(text, header or list(FIELDS))  # quotes any \r and \n
    writer.writeheader()
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode()).readlines()


def as_jsonl(rows: Sequence[Mapping[str, object]]) -> list[bytes]:
    return [json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows]


def rows_of(records: tuple[PersonRecord, ...]) -> list[dict[str, object]]:
    return [dict(zip(FIELDS, astuple(record), strict=True)) for record in records]


def problems(lines: list[bytes], file_format: str = "csv") -> list[str]:
    with pytest.raises(RegisterFileError) as raised:
        read_register(lines, file_format=file_format)
    assert raised.value.code == "identity.bad_register_file"
    return [f"line {p['line']}: {p['reason']}" for p in raised.value.extra["problems"]]


def test_csv_and_jsonl_of_a_population_read_back_as_the_same_records() -> None:
    population = generate_population(300, seed=5)
    rows = rows_of(population.records)
    from_csv = read_register(as_csv(rows), file_format="csv")
    from_jsonl = read_register(as_jsonl(rows), file_format="jsonl")
    assert from_csv.records == list(population.records)
    assert from_jsonl.records == from_csv.records
    assert from_csv.unread_columns == from_jsonl.unread_columns == ()


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=150)
@given(st.lists(st.tuples(*(st.none() | _TEXT for _ in FIELDS[1:])), min_size=1, max_size=6))
def test_the_csv_and_jsonl_readers_agree_on_any_text(values: list[tuple[str | None, ...]]) -> None:
    rows: list[dict[str, str | None]] = [
        {"record_id": f"id {number}", **dict(zip(FIELDS[1:], fields, strict=True))}
        for number, fields in enumerate(values)
    ]
    for row in rows:
        row["birth_date"] = None  # dates are checked; they have tests of their own
    from_csv = read_register(as_csv(rows), file_format="csv").records
    from_jsonl = read_register(as_jsonl(rows), file_format="jsonl").records
    assert from_csv == from_jsonl
    expected = [
        replace(
            PersonRecord(
                f"id {number}", *(value.strip() or None if value else None for value in fields)
            ),
            birth_date=None,
        )
        for number, fields in enumerate(values)
    ]
    assert from_jsonl == expected


def test_other_column_names_are_mapped_and_unread_columns_named() -> None:
    lines = [
        "\ufeffID,First,Surname,DOB,notes,sex\n".encode(),
        b"A-1, Amina ,Odhiambo,1990-03-07,seen twice,\n",
        b"A-2,Juma,,1990,,M\n",
    ]
    columns = {"record_id": "ID", "given_name": "First", "family_name": "Surname"}
    register = read_register(lines, file_format="csv", columns=columns | {"birth_date": "DOB"})
    assert register.records == [
        PersonRecord("A-1", "Amina", "Odhiambo", birth_date="1990-03-07"),
        PersonRecord("A-2", "Juma", None, birth_date="1990", sex="M"),
    ]
    assert register.unread_columns == ("notes",)


def test_json_numbers_are_read_as_their_digits() -> None:
    lines = [b'{"record_id": 17, "given_name": "Amina", "phone": 254712345678, "x": [1]}\n']
    register = read_register(lines, file_format="jsonl")
    assert register.records == [PersonRecord("17", "Amina", None, phone="254712345678")]
    assert register.unread_columns == ("x",)


def test_every_bad_row_is_named_by_its_line_and_no_value_is_repeated() -> None:
    lines = as_csv(
        [
            {"record_id": "r1", "given_name": "Amina", "birth_date": "1990-02-30"},
            {"record_id": "r2", "given_name": "Baraka", "birth_date": "07/03/1990"},
            {"record_id": "r2", "given_name": "Chausiku"},
            {"record_id": "", "given_name": "Dalila"},
            {"record_id": "r5", "birth_date": "1849"},
        ]
    )
    lines.insert(3, b"\n")  # blank lines are skipped but keep their number
    lines.append(b"r6,\xff\xfeX,,,,,,\n")
    lines.append(b"r7,Esi\n")
    found = problems(lines)
    assert found == [
        "line 2: birth_date is not a date that can be (YYYY, YYYY-MM or YYYY-MM-DD)",
        "line 3: birth_date is not a date that can be (YYYY, YYYY-MM or YYYY-MM-DD)",
        "line 5: the record_id of line 3 again",
        "line 6: no record_id",
        "line 7: birth_date is not a date that can be (YYYY, YYYY-MM or YYYY-MM-DD)",
        "line 8: not UTF-8 text",
        "line 9: 2 cells where the header has 8",
    ]
    assert not any(name in " ".join(found) for name in ("Amina", "Baraka", "1990-02-30"))


def test_bad_json_lines_are_named() -> None:
    lines = [
        b'{"record_id": "r1", "given_name": "Amina"}\n',
        b'{"record_id": "r2", "given_name": \n',
        b'["r3", "Baraka"]\n',
        b'{"record_id": "r4", "given_name": {"first": "Juma"}}\n',
        b'{"record_id": true}\n',
        b'{"given_name": "Esi"}\n',
        b'{"record_id": "r1", "given_name": "Amina"}\n',
    ]
    assert problems(lines, "jsonl") == [
        "line 2: not JSON: Expecting value",
        "line 3: not a JSON object",
        "line 4: given_name is not text",
        "line 5: record_id is not text",
        "line 6: no record_id",
        "line 7: the record_id of line 1 again",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'r2,"Amina"Odhiambo,,,,,,\n', "line 3: not CSV: ',' expected after '\"'"),
        (b'r2,"Amina,,,,,,\n', "line 4: not CSV: unexpected end of data"),
    ],
)
def test_quotes_gone_wrong_stop_the_csv_at_their_line(line: bytes, reason: str) -> None:
    lines = [*as_csv([{"record_id": "r1"}]), line, b"r3,Baraka,,,,,,\n"]
    assert problems(lines) == [reason]


def test_the_count_of_problems_goes_beyond_those_listed() -> None:
    lines = as_csv([{"record_id": "r", "birth_date": "never"}] * 250)
    with pytest.raises(RegisterFileError, match="250 bad row") as raised:
        read_register(lines, file_format="csv")
    assert len(raised.value.extra["problems"]) == 100
    assert raised.value.extra["problems_total"] == 250


@pytest.mark.parametrize(
    ("lines", "columns", "message"),
    [
        ([b"id,given_name\n", b"r1,Amina\n"], None, "line 1: the header has no record_id column"),
        ([b"ID,given_name\n", b"r1,Amina\n"], {"record_id": "id"}, "has no id column"),
        ([b"record_id,sex,sex\n", b"r1,F,F\n"], None, "names a column twice"),
        ([], None, "the header has no record_id column"),
        ([b"record_id,given_name\n", b"\n"], None, "the file holds no records"),
        ([b"record_id\n"], {"surname": "x"}, "not fields of a person record: surname"),
    ],
)
def test_files_refused_as_a_whole(
    lines: list[bytes], columns: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(RegisterFileError, match=message):
        read_register(lines, file_format="csv", columns=columns)


def test_formats_by_extension() -> None:
    assert file_format(Path("a/People.CSV")) == "csv"
    assert file_format(Path("people.ndjson")) == file_format(Path("p.jsonl")) == "jsonl"
    with pytest.raises(RegisterFileError, match=r"people\.xlsx: the extension says neither"):
        file_format(Path("people.xlsx"))
    with pytest.raises(RegisterFileError, match="csv or jsonl, not 'xml'"):
        read_register([b"<people/>"], file_format="xml")


CLUSTERS = [["a,1", 'b "2"'], ["c", "d", "e"]]


def test_the_report_lists_every_clustered_record_in_csv_and_jsonl(tmp_path: Path) -> None:
    write_clusters(CLUSTERS, tmp_path / "out.csv")
    write_clusters(CLUSTERS, tmp_path / "out.jsonl")
    with (tmp_path / "out.csv").open(newline="") as report:
        from_csv = [
            {
                "cluster_id": int(r["cluster_id"]),
                "record_id": r["record_id"],
                "cluster_size": int(r["cluster_size"]),
            }
            for r in csv.DictReader(report)
        ]
    from_jsonl = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert (
        from_csv
        == from_jsonl
        == [
            {"cluster_id": 1, "record_id": "a,1", "cluster_size": 2},
            {"cluster_id": 1, "record_id": 'b "2"', "cluster_size": 2},
            {"cluster_id": 2, "record_id": "c", "cluster_size": 3},
            {"cluster_id": 2, "record_id": "d", "cluster_size": 3},
            {"cluster_id": 2, "record_id": "e", "cluster_size": 3},
        ]
    )
    assert summarise(9, CLUSTERS) == summarise(records=9, clusters=CLUSTERS)
    summary = summarise(9, CLUSTERS)
    assert (summary.records, summary.clusters, summary.clustered, summary.largest) == (9, 2, 5, 3)


def test_a_report_that_fails_half_way_leaves_the_old_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("the previous report\n")
    broken = [["a", "b"], [object()]]  # not a record id: json cannot write it
    with pytest.raises(TypeError):
        write_clusters(broken, out)  # type: ignore[arg-type]
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
