"""A simulator configuration file is read whole or refused with a clear reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baobab.fspsim import load_config
from baobab.kernel.errors import InvalidInput
from baobab.kernel.money import Money
from baobab.kernel.signing import Signer
from baobab.switch.fspiop import amount_text, datetime_text, parse_datetime_text

GOOD = """
fsp_id = "bankb"
client_id = "DEV/FSP/BANKB/switch"
hub_url = "http://127.0.0.1:8000/switch"
key_file = "bankb.jwk"
currency = "XOF"
sign_requests = true
control_token = "secret"

[behaviour]
transfers = "reserve"
fee_minor = 25

[[parties]]
type = "MSISDN"
id = "22507000001"
name = "Awa Kone"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "bankb.jwk").write_text(json.dumps(Signer.generate().private_jwk()))
    path = tmp_path / "bankb.toml"
    path.write_text(text)
    return path


def test_a_complete_file_gives_the_configuration(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert (config.fsp_id, config.currency, config.sign_requests) == ("bankb", "XOF", True)
    assert (config.behaviour.transfers, config.behaviour.fee_minor) == ("reserve", 25)
    assert config.party("MSISDN", "22507000001") is not None
    assert config.token_endpoint == "http://127.0.0.1:8000/directory/oauth2/token"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (('transfers = "reserve"', 'transfers = "maybe"'), "transfers must be one of"),
        (('currency = "XOF"', 'currency = "xof"'), "currency"),
        (('fsp_id = "bankb"', 'fsp_id = "bankb"\ncolour = "red"'), "unknown setting"),
        (('key_file = "bankb.jwk"', 'key_file = "none.jwk"'), "cannot read the private key"),
        (('hub_url = "http://127.0.0.1:8000/switch"', 'hub_url = "ftp://x"'), "http"),
        (("fee_minor = 25", "fee_minor = -1"), "must not be negative"),
        (('id = "22507000001"\n', ""), "each party needs"),
    ],
)
def test_a_wrong_file_is_refused(tmp_path: Path, change: tuple[str, str], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        load_config(write(tmp_path, GOOD.replace(*change)))


def test_amounts_and_times_have_their_fspiop_forms() -> None:
    assert amount_text(Money(1050, "USD")) == "10.5"
    assert amount_text(Money(1000, "USD")) == "10"
    assert amount_text(Money(7, "XOF")) == "7"
    moment = parse_datetime_text("2026-11-26T20:30:00.123Z")
    assert datetime_text(moment) == "2026-11-26T20:30:00.123Z"
