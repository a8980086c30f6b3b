"""`baobab exchange verify|checkpoint|evidence|verify-evidence` over the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from baobab.bootstrap import bootstrap
from baobab.cli import app
from baobab.exchange import MessageRecord
from baobab.exchange.domain import digest
from baobab.infra.settings import Settings
from baobab.kernel.ids import new_id
from tests.integration.exchange.conftest import Exchange
from tests.integration.exchange.test_gateway_sql import call


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAOBAB_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("BAOBAB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BAOBAB_PUBLIC_URL", settings.public_url)


@pytest.mark.usefixtures("env")
def test_evidence_round_trip_and_log_verification(exchange: Exchange, tmp_path: Path) -> None:
    runner = CliRunner()
    ministry, provider = str(exchange.ministry.client_id), str(exchange.provider.client_id)
    answer = call(exchange.gateway, ministry, provider)
    out = tmp_path / "evidence.json"
    exported = runner.invoke(app, ["exchange", "evidence", answer.message_id, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    kid = exchange.platform.signer.kid
    checked = runner.invoke(app, ["exchange", "verify-evidence", str(out), "--trusted-kid", kid])
    assert checked.exit_code == 0, checked.output
    assert "evidence verifies" in checked.output
    data = bytearray(out.read_bytes())
    data[100] ^= 0x01
    out.write_bytes(bytes(data))
    assert runner.invoke(app, ["exchange", "verify-evidence", str(out)]).exit_code == 1

    call(exchange.gateway, ministry, provider)
    sealed = runner.invoke(app, ["exchange", "checkpoint"])
    assert "sealed entries 2..2" in sealed.output
    assert "nothing to seal" in runner.invoke(app, ["exchange", "checkpoint"]).output
    verified = runner.invoke(app, ["exchange", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "2 entries, 2 checkpoints" in verified.output
    with exchange.platform.db.transaction() as connection:
        connection.execute(
            text("UPDATE exchange_log SET hash = 'ab' || substr(hash, 3) WHERE sequence = 1")
        )
    broken = runner.invoke(app, ["exchange", "verify"])
    assert broken.exit_code == 1
    unknown = runner.invoke(app, ["exchange", "evidence", "no-such-message"])
    assert unknown.exit_code == 1
    delivered = runner.invoke(app, ["exchange", "deliver", "--once"])
    assert delivered.exit_code == 0, delivered.output
    assert "0 events delivered" in delivered.output


@pytest.mark.usefixtures("env")
def test_stored_bodies_and_time_stamps_from_the_command_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    no_tsa = runner.invoke(app, ["exchange", "stamp"])
    assert no_tsa.exit_code == 1
    assert "no time-stamping authority" in no_tsa.output

    monkeypatch.setenv("BAOBAB_EXCHANGE_STORE_BODIES", "true")
    built = bootstrap(settings.model_copy(update={"exchange_store_bodies": True}), upgrade=False)
    try:
        body = b'{"name":"Amina"}'
        message_id = new_id()
        request = {"typ": "t", "id": message_id, "body": digest(body)}
        now = built.clock.now()
        record = MessageRecord(
            message_id,
            "DEV/A/B/c",
            "DEV/X/Y/z/s",
            now,
            now,
            "ok",
            request=request,
            request_body=body,
        )
        built.exchange.log.append_batch([record])
    finally:
        built.close()
    shown = runner.invoke(app, ["exchange", "body", message_id, "request"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout_bytes == body
    missing = runner.invoke(app, ["exchange", "body", message_id, "response"])
    assert missing.exit_code == 1
