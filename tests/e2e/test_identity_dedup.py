"""As an operator would: `baobab identity dedup` over a register file, no server, no database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import astuple
from itertools import combinations
from pathlib import Path

import pytest

from baobab.identity.batch import FIELDS
from baobab.identity.matching.population import generate_population

pytestmark = pytest.mark.e2e
BAOBAB = str(Path(sys.executable).parent / "baobab")


def baobab(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # no BAOBAB_* settings and a data directory that does not exist: the command needs neither
    env = {**os.environ, "COLUMNS": "200", "BAOBAB_DATA_DIR": str(tmp_path / "no-such-dir")}
    env.pop("BAOBAB_DATABASE_URL", None)
    return subprocess.run(
        [BAOBAB, "identity", "dedup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_register_file_is_deduplicated_offline(tmp_path: Path) -> None:
    population = generate_population(1500, seed=3)
    register = tmp_path / "register.csv"
    with register.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        writer.writerows(["" if v is None else v for v in astuple(r)] for r in population.records)
    report = tmp_path / "clusters.csv"

    result = baobab(tmp_path, str(register), "--out", str(report))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "comparing" in result.stdout
    assert f"│ records             │ {len(population.records)}" in result.stdout
    with report.open(newline="") as rows:
        clusters: dict[str, list[str]] = {}
        for row in csv.DictReader(rows):
            clusters.setdefault(row["cluster_id"], []).append(row["record_id"])
    found = {pair for ids in clusters.values() for pair in combinations(sorted(ids), 2)}
    truth = population.duplicate_pairs()
    assert len(found & truth) / len(found) > 0.95
    assert len(found & truth) / len(truth) > 0.9
    assert not (tmp_path / "no-such-dir").exists()


def test_a_bad_register_file_exits_1_naming_the_line(tmp_path: Path) -> None:
    register = tmp_path / "register.jsonl"
    register.write_text('{"record_id": "r1", "given_name": "Amina"}\n{"record_id": "r1"}\n')
    report = tmp_path / "clusters.jsonl"

    result = baobab(tmp_path, str(register), "--out", str(report))

    assert result.returncode == 1
    assert "line 2: the record_id of line 1 again" in result.stderr
    assert not report.exists()
