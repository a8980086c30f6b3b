"""`baobab registries ...` as an operator uses it: define from a shipped example, import a file
with bad rows (refused, report printed, nothing imported), import it good, export, verify."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baobab.cli.registries import registries_app
from baobab.registries import write_jsonl
from baobab.registries.examples import households


@pytest.fixture
def console_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'baobab.db'}"
    monkeypatch.setenv("BAOBAB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BAOBAB_DATABASE_URL", url)
    return tmp_path


def test_an_operator_loads_and_checks_a_registry(console_env: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(registries_app, list(args))
        return result.exit_code, result.output

    code, out = run("define", "social-registry", "--version", "1.0", "--example", "social-registry")
    assert code == 0, out
    records = list(households(40))
    bad = [*records[:39], {**records[39], "size": 100}]
    bad_file = console_env / "bad.jsonl"
    bad_file.write_text("".join(write_jsonl(bad)))
    code, out = run("import", "social-registry", "1.0", str(bad_file))
    assert code == 1
    assert "40" in out
    assert "size" in out
    assert "must be at most 40" in out
    good_file = console_env / "good.jsonl"
    good_file.write_text("".join(write_jsonl(records)))
    code, out = run("import", "social-registry", "1.0", str(good_file))
    assert code == 0, out
    assert "imported 40 of 40 rows" in out
    code, out = run("export", "social-registry", "1.0", str(console_env / "out.csv"))
    assert code == 0, out
    assert (console_env / "out.csv").read_text().count("\n") == 41
    code, out = run("history", "social-registry", "HH-00000007")
    assert code == 0, out
    assert "bulk import" in out
    code, out = run("verify", "social-registry")
    assert code == 0, out
    assert "40 revisions and 41 disclosures verified" in out  # 40 exported, 1 in history
    chain = console_env / "chain.jsonl"
    code, out = run("export-history", "social-registry", str(chain))
    assert code == 0, out
    lines = [json.loads(line) for line in chain.read_text().splitlines()]
    assert [line["sequence"] for line in lines] == list(range(1, 41))
    reads = console_env / "reads.jsonl"
    code, out = run("export-history", "social-registry", str(reads), "--disclosures")
    assert code == 0, out
    operations = Counter(json.loads(line)["operation"] for line in reads.read_text().splitlines())
    # the export read every household; the history command one; the chain export every one
    assert operations == {"export": 40, "history": 41}
    code, out = run("grant", "social-registry", "DEV/GOV/MOF/planner", "--operation", "read")
    assert code == 0, out
    code, out = run("list")
    assert "social-" in out
    code, out = run("grant", "social-registry", "DEV/GOV/MOF/planner", "--operation", "rule")
    assert code == 1
    assert "registries.invalid_definition" in out
