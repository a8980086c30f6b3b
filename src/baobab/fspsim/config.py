"""What one simulated FSP is: its FSPIOP id, its directory identity and key, the hub it talks to,
the parties it holds and how it behaves as a payee. Read from options or a small TOML file."""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from baobab.kernel.errors import InvalidInput
from baobab.kernel.money import check_currency
from baobab.kernel.signing import Signer

QuoteAnswer = Literal["answer", "refuse", "never"]
TransferAnswer = Literal["commit", "reserve", "refuse", "never", "wrong-fulfilment"]


class InvalidSimulatorConfig(InvalidInput):
    code = "fspsim.invalid_config"
    title = "Invalid simulator configuration"


@dataclass(frozen=True, slots=True)
class Party:
    """A customer the FSP holds, found by ``id_type`` (MSISDN, ACCOUNT_ID, ...) and ``id_value``."""

    id_type: str
    id_value: str
    name: str
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the FSP answers as a payee. ``delay_seconds`` holds back each answer to a transfer
    (a late payee); ``refusal_code`` is the FSPIOP error code of a refusal."""

    quotes: QuoteAnswer = "answer"
    transfers: TransferAnswer = "commit"
    delay_seconds: float = 0.0
    refusal_code: str = "5105"
    fee_minor: int = 0
    quote_ttl_seconds: int = 60

    def __post_init__(self) -> None:
        if self.quotes not in get_args(QuoteAnswer):
            raise InvalidSimulatorConfig(f"quotes must be one of {get_args(QuoteAnswer)}")
        if self.transfers not in get_args(TransferAnswer):
            raise InvalidSimulatorConfig(f"transfers must be one of {get_args(TransferAnswer)}")
        if self.delay_seconds < 0 or self.fee_minor < 0 or self.quote_ttl_seconds < 1:
            raise InvalidSimulatorConfig("delay and fee must not be negative, the quote TTL >= 1")
        if not (len(self.refusal_code) == 4 and self.refusal_code.isdigit()):
            raise InvalidSimulatorConfig("refusal_code must be a four-digit FSPIOP error code")


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """One simulated FSP. ``hub_url`` is the hub's FSPIOP base (``<public_url>/switch``);
    ``token_url`` defaults to the directory's token endpoint beside it."""

    fsp_id: str
    client_id: str
    hub_url: str
    signer: Signer
    currency: str
    parties: tuple[Party, ...] = ()
    behaviour: Behaviour = field(default_factory=Behaviour)
    token_url: str | None = None
    scope: str | None = None
    sign_requests: bool = False
    control_token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    transfer_ttl_seconds: int = 60
    callback_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= len(self.fsp_id) <= 32:
            raise InvalidSimulatorConfig("fsp_id must be 1 to 32 characters (FSPIOP FspId)")
        if not self.hub_url.startswith(("http://", "https://")):
            raise InvalidSimulatorConfig("hub_url must be an http(s) URL")
        check_currency(self.currency)
        if self.transfer_ttl_seconds < 1 or self.callback_timeout_seconds <= 0:
            raise InvalidSimulatorConfig("transfer TTL and callback timeout must be positive")

    @property
    def hub_base(self) -> str:
        return self.hub_url.rstrip("/")

    @property
    def token_endpoint(self) -> str:
        """The directory's token endpoint: given, or ``<public_url>/directory/oauth2/token``."""
        if self.token_url:
            return self.token_url
        base = self.hub_base
        public = base[: -len("/switch")] if base.endswith("/switch") else base
        return f"{public}/directory/oauth2/token"

    def party(self, id_type: str, id_value: str) -> Party | None:
        return next(
            (p for p in self.parties if p.id_type == id_type and p.id_value == id_value), None
        )

    def with_behaviour(self, **changes: Any) -> SimulatorConfig:
        return replace(self, behaviour=replace(self.behaviour, **changes))


def _parties(raw: Any) -> tuple[Party, ...]:
    if not isinstance(raw, list):
        raise InvalidSimulatorConfig("parties must be a list of tables")
    try:
        return tuple(
            Party(
                id_type=str(p["type"]),
                id_value=str(p["id"]),
                name=str(p["name"]),
                first_name=p.get("first_name"),
                last_name=p.get("last_name"),
            )
            for p in raw
        )
    except (KeyError, TypeError) as exc:
        raise InvalidSimulatorConfig("each party needs type, id and name") from exc


def load_key(path: Path) -> Signer:
    """The private JWK in ``path`` (as `baobab members keygen` writes it)."""
    try:
        return Signer(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise InvalidSimulatorConfig(f"cannot read the private key {path}: {exc}") from exc


def config_from_mapping(raw: Mapping[str, Any], *, base_dir: Path) -> SimulatorConfig:
    """A configuration from a parsed TOML document; ``key_file`` is relative to ``base_dir``."""
    known = {
        "fsp_id", "client_id", "hub_url", "key_file", "currency", "parties", "behaviour",
        "token_url", "scope", "sign_requests", "control_token", "secret_hex",
        "transfer_ttl_seconds", "callback_timeout_seconds",
    }  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise InvalidSimulatorConfig(f"unknown setting(s): {', '.join(sorted(unknown))}")
    missing = {"fsp_id", "client_id", "hub_url", "key_file", "currency"} - set(raw)
    if missing:
        raise InvalidSimulatorConfig(f"missing setting(s): {', '.join(sorted(missing))}")
    try:
        behaviour = Behaviour(**raw.get("behaviour", {}))
    except TypeError as exc:
        raise InvalidSimulatorConfig(f"behaviour: {exc}") from exc
    extra: dict[str, Any] = {
        k: raw[k]
        for k in (
            "token_url", "scope", "sign_requests", "control_token",
            "transfer_ttl_seconds", "callback_timeout_seconds",
        )
        if k in raw
    }  # fmt: skip
    if "secret_hex" in raw:
        extra["secret"] = bytes.fromhex(str(raw["secret_hex"]))
    return SimulatorConfig(
        fsp_id=str(raw["fsp_id"]),
        client_id=str(raw["client_id"]),
        hub_url=str(raw["hub_url"]),
        signer=load_key(base_dir / str(raw["key_file"])),
        currency=str(raw["currency"]),
        parties=_parties(raw.get("parties", [])),
        behaviour=behaviour,
        **extra,
    )


def load_config(path: Path) -> SimulatorConfig:
    """Read a simulator configuration file (TOML)."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidSimulatorConfig(f"cannot read {path}: {exc}") from exc
    return config_from_mapping(raw, base_dir=path.parent)
