"""`baobab consent ...` against a real embedded database: list, verify, export; a tampered
record makes `verify` fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from baobab.bootstrap import bootstrap
from baobab.cli import app
from baobab.consent import Channel
from baobab.consent.adapters.sql import record_revisions
from baobab.infra.settings import Settings
from tests.unit.consent.examples import ALICE, BANK, terms


def test_list_verify_export_and_detect_tampering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAOBAB_DATA_DIR", str(tmp_path / "var"))
    platform = bootstrap(Settings(), upgrade=True)
    try:
        consent = platform.consent
        agreement = consent.agreements.create(actor="op", organisation=BANK, terms=terms())
        record = consent.give(
            actor="op",
            organisation=BANK,
            agreement_id=agreement.agreement_id,
            individual=ALICE,
            channel=Channel.PAPER,
        )
    finally:
        platform.close()
    runner = CliRunner()

    listed = runner.invoke(app, ["consent", "agreements", "COM/BANKA"])
    assert listed.exit_code == 0, listed.output
    assert agreement.agreement_id[:8] in listed.output
    shown = runner.invoke(app, ["consent", "records", "COM/BANKA"])
    assert shown.exit_code == 0, shown.output
    assert "given" in shown.output
    assert ALICE not in shown.output
    verified = runner.invoke(app, ["consent", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "1 records verified" in verified.output
    exported = runner.invoke(app, ["consent", "export", "COM/BANKA", record.record_id])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["recordHeader"]["recordId"] == record.record_id
    unknown = runner.invoke(app, ["consent", "export", "COM/BANKB", record.record_id])
    assert unknown.exit_code == 1
    assert "consent.unknown_record" in unknown.output

    platform = bootstrap(Settings(), upgrade=False)
    try:
        with platform.db.transaction() as connection:
            connection.execute(update(record_revisions).values(channel="web"))
    finally:
        platform.close()
    broken = runner.invoke(app, ["consent", "verify"])
    assert broken.exit_code == 1
    assert f"record {record.record_id} broken" in broken.output
