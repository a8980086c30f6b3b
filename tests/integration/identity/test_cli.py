"""`baobab identity ...` over a real identity block. The platform the commands build is this
test's (``bootstrap`` is replaced by one returning it) until the lead wires the block into
``bootstrap``; everything below the command line is real."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from baobab.cli import console
from baobab.cli.identity import identity_app
from baobab.identity import DuplicateFinder, Partner
from tests.integration.identity.people import PHONE, Enroller, packet, person
from tests.integration.identity.stack import IdentityStack
from tests.unit.identity.fakes import RuleFinder

runner = CliRunner()


@pytest.fixture
def finder() -> DuplicateFinder:
    return RuleFinder()


@pytest.fixture
def cli(stack: IdentityStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    built = SimpleNamespace(
        settings=stack.platform.settings.model_copy(update={"data_dir": tmp_path / "var"}),
        identity=stack.block,
        db=stack.platform.db,
        clock=stack.platform.clock,
        close=lambda: None,
    )
    monkeypatch.setattr(console, "bootstrap", lambda settings, upgrade=None: built)
    monkeypatch.setattr(console.console, "width", 250)  # whole table rows, to search them
    monkeypatch.setattr(console.errors, "width", 250)


@pytest.mark.usefixtures("cli")
def test_profiles() -> None:
    listed = runner.invoke(identity_app, ["profiles"])
    assert listed.exit_code == 0, listed.output
    assert "example-a@2 (active)" in listed.output
    shown = runner.invoke(identity_app, ["profiles", "--show", "example-b@1"])
    assert '"length": 12' in shown.output
    missing = runner.invoke(identity_app, ["profiles", "--show", "atlantis@1"])
    assert missing.exit_code == 1


@pytest.mark.usefixtures("cli")
def test_enrol_from_jsonl_review_lock_and_outbox(enroller: Enroller, tmp_path: Path) -> None:
    stack = enroller.stack
    key = tmp_path / "agency.jwk"
    key.write_text(json.dumps(enroller.caller.signer.private_jwk()))
    lines = [
        packet("pkt-00000001", person(given="Grace", family="Okafor", phone=PHONE)),
        packet("pkt-00000002", person(given="Grace", family="Okafor")),
        packet("pkt-00000003", person(given="Blessing", family="Okafor")),
        packet("pkt-00000004", person(shoe="42")),
    ]
    packets = tmp_path / "packets.jsonl"
    packets.write_text("\n".join(json.dumps(p) for p in lines) + "\nnot json\n")
    agency = str(enroller.caller.client_id).split("/", 1)[1]
    result = runner.invoke(identity_app, ["enrol", str(packets), "--as", agency, "--key", str(key)])
    assert result.exit_code == 1  # two lines were refused
    assert "identity.unknown_field" in result.output
    assert "line 5" in result.output
    for state in ("issued", "duplicate", "in_review", "refused"):
        assert state in result.output

    queue = runner.invoke(identity_app, ["review", "list"])
    [case] = stack.enrolment.review_queue()
    assert case.case_id in queue.output
    shown = runner.invoke(identity_app, ["review", "show", case.case_id])
    assert "Blessing" in shown.output
    assert "differs" in shown.output
    decided = runner.invoke(
        identity_app,
        ["review", "decide", case.case_id, "--decision", "distinct", "--reason", "sisters"],
    )
    assert decided.exit_code == 0, decided.output
    assert "issued" in decided.output
    assert stack.enrolment.review_queue() == []

    uin = stack.enrolment.enrolment("pkt-00000001").uin
    assert uin is not None
    locked = runner.invoke(identity_app, ["lock", uin, "--reason", "card stolen"])
    assert "locked" in locked.output
    unlocked = runner.invoke(identity_app, ["unlock", uin, "--reason", "card found"])
    assert "active" in unlocked.output

    stack.auth.request_otp(partner=Partner("DEV/COM/BANKA/kyc"), individual_id=uin, channel="sms")
    outbox = runner.invoke(identity_app, ["outbox", "--address", PHONE])
    assert "one-time password" in outbox.output


@pytest.mark.usefixtures("cli")
def test_rotate_key_then_reseal_in_two_runs(enroller: Enroller) -> None:
    enroller.enrol("pkt-00000001", person())
    enroller.enrol("pkt-00000002", person(given="Musa", family="Bello", sex="male"))
    rotated = runner.invoke(identity_app, ["rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    assert "key k2 is now active" in rotated.output
    first = runner.invoke(identity_app, ["reseal", "--batch", "1", "--max-rows", "1"])
    assert first.exit_code == 0, first.output
    assert "identity_identities │ 1        │ 1" in first.output
    rest = runner.invoke(identity_app, ["reseal"])
    assert "identity_identities │ 2        │ 1" in rest.output
    assert "identity_packets    │ 2        │ 2" in rest.output
    bad = runner.invoke(identity_app, ["reseal", "--batch", "0"])
    assert bad.exit_code != 0


@pytest.mark.usefixtures("cli")
def test_purge_lists_then_purges(enroller: Enroller, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = enroller.stack
    enroller.enrol("pkt-00000001", person())
    assert enroller.submit(packet("pkt-00000002", person())).duplicate_of
    listed = runner.invoke(identity_app, ["purge", "--dry-run"])
    assert "would purge 0 packets older than 365 days" in listed.output
    stack.platform.clock.advance(timedelta(days=366))  # type: ignore[attr-defined]
    listed = runner.invoke(identity_app, ["purge", "--dry-run"])
    assert "would purge 1 packets" in listed.output
    purged = runner.invoke(identity_app, ["purge"])
    assert purged.exit_code == 0, purged.output
    assert "pkt-00000002" in purged.output
    assert runner.invoke(identity_app, ["purge"]).output.startswith("purged 0 packets")
