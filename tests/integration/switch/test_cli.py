"""`baobab switch participants ...` against a real embedded database: register an FSP, fund
it, cap it, and see the refusal of a cap beyond its liquidity."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baobab.bootstrap import bootstrap
from baobab.cli import app
from baobab.directory import MemberId, Role
from baobab.infra.settings import Settings


def test_register_fund_and_cap_an_fsp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAOBAB_DATA_DIR", str(tmp_path / "var"))
    platform = bootstrap(Settings(), upgrade=True)
    try:
        platform.directory.add_member(
            actor="op", member_id=MemberId.parse("DEV/COM/BANKA"), name="Bank A", roles=[Role.FSP]
        )
    finally:
        platform.close()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["switch", "participants", *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("register", "bank-a", "--member", "DEV/COM/BANKA", "--currency", "USD")
    run("endpoint", "bank-a", "FSPIOP_CALLBACK_URL_TRANSFER_POST", "http://bank-a.test/transfers")
    run("deposit", "bank-a", "250.00", "USD")
    run("limit", "bank-a", "200", "USD")
    shown = run("show", "bank-a")
    assert "FSPIOP_CALLBACK_URL_TRANSFER_POST" in shown
    assert "5000" in shown  # free liquidity, minor units
    assert "20000" in shown  # the cap
    refused = runner.invoke(app, ["switch", "participants", "limit", "bank-a", "300", "USD"])
    assert refused.exit_code == 1
    assert "switch.ledger_refused" in refused.output
    assert "bank-a" in run("list")
    closed = runner.invoke(app, ["switch", "settlement", "close"])
    assert closed.exit_code == 0, closed.output
    report = runner.invoke(app, ["switch", "settlement", "report", "1", "--csv"])
    assert report.output.startswith("window_id,state,fsp_id")
    too_soon = runner.invoke(app, ["switch", "settlement", "start", "1"])
    assert too_soon.exit_code == 1
    assert "switch.window_state" in too_soon.output
