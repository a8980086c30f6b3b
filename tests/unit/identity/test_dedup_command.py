"""`baobab identity dedup FILE`: a register file in, a summary and a cluster report out, offline."""

from __future__ import annotations

import csv
import json
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baobab.cli import console
from baobab.cli.identity import identity_app
from baobab.identity.batch import FIELDS
from baobab.identity.matching import MatchModel
from baobab.identity.matching.population import generate_population

runner = CliRunner()

PEOPLE = """\
record_id,given_name,family_name,other_names,birth_date,sex,location,phone,clerk
r1,Amina,Odhiambo,,1990-03-07,F,KE-047-0301,+254712345678,k1
r2,Odiambo,Amina,,1990-07-03,F,KE-047-0301,0712345678,k2
r3,Otieno,Kamau,,1985,M,KE-047-0302,,k1
r4,Dennis,Otieno,,2001-02-02,M,KE-001-0001,,k1
r5,Mohammed,Hassan,Ali,1975-01-15,M,KE-001-0002,0722000111,k3
r6,Muhammad,Hasan,,1975-01-15,M,KE-001-0003,0722000111,k3
r7,Wanjiru,Kariuki,,2010-05-05,F,KE-002-0001,0733000222,k2
r8,Njeri,Kariuki,,2010-05-05,F,KE-002-0001,0733000222,k2
r9,Mohamed,Hassan,Ali,1975-01,M,KE-001-0002,,k4
"""


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.console, "width", 200)
    monkeypatch.setattr(console.errors, "width", 200)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    path.write_text(MatchModel.default().to_json())
    return path


def dedup(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(identity_app, ["dedup", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def summary_row(output: str, name: str) -> str:
    line = next(line for line in output.splitlines() if f" {name} " in line)
    return line.split("│")[2].strip()


def test_known_duplicates_make_the_expected_clusters(tmp_path: Path, model: Path) -> None:
    register = tmp_path / "people.csv"
    register.write_text(PEOPLE)
    out = tmp_path / "clusters.csv"
    code, output, errors = dedup(register, "--model", model, "--out", out)
    assert code == 0, output + errors
    with out.open(newline="") as report:
        rows = [
            (r["cluster_id"], r["record_id"], r["cluster_size"]) for r in csv.DictReader(report)
        ]
    # the swapped, misspelled Amina and the three spellings of Mohammed Hassan; twins stay apart
    assert rows == [
        ("1", "r1", "2"),
        ("1", "r2", "2"),
        ("2", "r5", "3"),
        ("2", "r6", "3"),
        ("2", "r9", "3"),
    ]
    assert summary_row(output, "records") == "9"
    assert summary_row(output, "clusters") == "2"
    assert summary_row(output, "records in clusters") == "5"
    assert summary_row(output, "largest cluster") == "3"
    assert summary_row(output, "columns not read") == "clerk"
    assert str(model) in output
    assert "Amina" not in output  # no personal data on the console

    code, output, _ = dedup(register, "--model", model, "--match", "500")
    assert code == 0
    assert summary_row(output, "clusters") == "0"
    assert summary_row(output, "match threshold") == "500.0 bits"


def test_the_model_learned_from_the_file_finds_the_duplicates(tmp_path: Path) -> None:
    population = generate_population(400, seed=11)
    register = tmp_path / "people.jsonl"
    register.write_text(
        "".join(
            json.dumps(dict(zip(FIELDS, (getattr(r, f) for f in FIELDS), strict=True))) + "\n"
            for r in population.records
        )
    )
    out = tmp_path / "clusters.jsonl"
    code, output, errors = dedup(register, "--out", out)
    assert code == 0, output + errors
    assert "learned from the file" in output
    clusters: dict[int, list[str]] = {}
    for line in out.read_text().splitlines():
        row = json.loads(line)
        clusters.setdefault(row["cluster_id"], []).append(row["record_id"])
        assert row["cluster_size"] > 1
    found = {pair for ids in clusters.values() for pair in combinations(sorted(ids), 2)}
    truth = population.duplicate_pairs()
    assert len(found & truth) / len(found) > 0.95
    assert len(found & truth) / len(truth) > 0.9
    assert summary_row(output, "records") == str(len(population.records))
    assert summary_row(output, "clusters") == str(len(clusters))


def test_columns_named_otherwise_are_mapped(tmp_path: Path, model: Path) -> None:
    register = tmp_path / "legacy.csv"
    register.write_text(PEOPLE.replace("record_id,given_name", "No.,First name", 1))
    code, output, errors = dedup(
        register, "--model", model, "--column", "record_id=No.", "--column", "given_name=First name"
    )
    assert code == 0, output + errors
    assert summary_row(output, "records in clusters") == "5"

    code, _, errors = dedup(register, "--column", "surname=Surname")
    assert code == 2
    assert "'surname=Surname' is not FIELD=COLUMN" in errors


def test_a_bad_file_is_refused_with_its_lines_and_nothing_is_written(
    tmp_path: Path, model: Path
) -> None:
    register = tmp_path / "people.csv"
    register.write_text(PEOPLE.replace("1990-07-03", "1990-13-03").replace("r4,", "r3,"))
    out = tmp_path / "clusters.csv"
    out.write_text("last month's report\n")
    code, output, errors = dedup(register, "--model", model, "--out", out)
    assert code == 1
    assert "identity.bad_register_file: 2 bad row(s)" in errors
    assert "line 3: birth_date is not a date that can be" in errors
    assert "line 5: the record_id of line 4 again" in errors
    assert "clusters" not in output
    assert out.read_text() == "last month's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clusters.csv",
        "model.json",
        "people.csv",
    ]


def test_wrong_options_are_refused(tmp_path: Path) -> None:
    register = tmp_path / "people.csv"
    register.write_text(PEOPLE)
    code, _, errors = dedup(register, "--out", tmp_path / "clusters.xlsx")
    assert code == 1
    assert "bad_register_file: clusters.xlsx: the extension says neither" in errors
    code, _, errors = dedup(register, "--out", tmp_path / "missing" / "clusters.csv")
    assert code == 1
    assert "--out: no directory" in errors
    bad_model = tmp_path / "model.json"
    bad_model.write_text('{"format": "something else"}')
    code, _, errors = dedup(register, "--model", bad_model)
    assert code == 1
    assert "not a" in errors
    code, _, errors = dedup(register, "--format", "xml")
    assert code == 1
    assert "csv or jsonl, not 'xml'" in errors
    code, _, errors = dedup(tmp_path / "nobody.csv")
    assert code == 2
    assert sorted(tmp_path.iterdir()) == [bad_model, register]


def test_column_names_print_as_they_are_and_a_failed_write_exits_1(
    tmp_path: Path, model: Path
) -> None:
    register = tmp_path / "people.csv"
    register.write_text(PEOPLE.replace(",clerk", ",[/bold]clerk[red]", 1))
    code, output, errors = dedup(register, "--model", model)
    assert code == 0, output + errors
    assert summary_row(output, "columns not read") == "[/bold]clerk[red]"
    taken = tmp_path / "clusters.csv"
    taken.mkdir()  # a directory where the report should go
    code, output, errors = dedup(register, "--model", model, "--out", taken)
    assert code == 1
    assert "Is a directory" in errors
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clusters.csv",
        "model.json",
        "people.csv",
    ]
