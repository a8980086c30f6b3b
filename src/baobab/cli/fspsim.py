"""`baobab fsp-sim`: serve a simulated FSP toward a Baobab switch, configured by a TOML file or
by options (options override the file)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Annotated, cast

import typer

from baobab.cli.console import console, errors
from baobab.fspsim import (
    InvalidSimulatorConfig,
    Party,
    Simulator,
    SimulatorConfig,
    load_config,
)
from baobab.fspsim.config import TransferAnswer, load_key
from baobab.fspsim.server import serve
from baobab.infra.logging import configure_logging
from baobab.kernel.errors import InvalidInput


def _party(text: str) -> Party:
    id_type, _, rest = text.partition(":")
    id_value, _, name = rest.partition(":")
    if not (id_type and id_value and name):
        raise InvalidSimulatorConfig(f"--party wants TYPE:VALUE:NAME, got {text!r}")
    return Party(id_type, id_value, name)


def _config(
    config: Path | None,
    *,
    fsp_id: str | None,
    client_id: str | None,
    hub_url: str | None,
    key_file: Path | None,
    currency: str | None,
    party: list[str],
    sign_requests: bool | None,
    control_token: str | None,
    transfers: str | None,
) -> SimulatorConfig:
    if config is not None:
        built = load_config(config)
        changes: dict[str, object] = {
            k: v
            for k, v in {
                "fsp_id": fsp_id,
                "client_id": client_id,
                "hub_url": hub_url,
                "currency": currency,
                "sign_requests": sign_requests,
                "control_token": control_token,
            }.items()
            if v is not None
        }
        if key_file is not None:
            changes["signer"] = load_key(key_file)
        if party:
            changes["parties"] = tuple(_party(p) for p in party)
        built = replace(built, **changes)  # type: ignore[arg-type]
    else:
        if not (fsp_id and client_id and hub_url and key_file and currency):
            raise InvalidSimulatorConfig(
                "give --config, or --fsp-id, --client-id, --hub-url, --key-file and --currency"
            )
        built = SimulatorConfig(
            fsp_id=fsp_id,
            client_id=client_id,
            hub_url=hub_url,
            signer=load_key(key_file),
            currency=currency,
            parties=tuple(_party(p) for p in party),
            sign_requests=bool(sign_requests),
            control_token=control_token,
        )
    if transfers is not None:
        # replace() runs Behaviour's checks, so an unknown answer is refused here
        built = replace(
            built, behaviour=replace(built.behaviour, transfers=cast(TransferAnswer, transfers))
        )
    return built


def fsp_sim(
    config: Annotated[Path | None, typer.Option(help="TOML file (see docs/fspsim.md)")] = None,
    fsp_id: Annotated[str | None, typer.Option(help="The FSPIOP id of this FSP")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Its directory subsystem, e.g. DEV/FSP/BANKA/switch")
    ] = None,
    hub_url: Annotated[
        str | None, typer.Option(help="The hub's FSPIOP base, e.g. http://127.0.0.1:8000/switch")
    ] = None,
    key_file: Annotated[Path | None, typer.Option(help="The subsystem's private JWK")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 currency it holds")] = None,
    party: Annotated[
        list[str] | None, typer.Option(help="A party it holds, TYPE:VALUE:NAME (repeatable)")
    ] = None,
    sign_requests: Annotated[
        bool | None, typer.Option("--sign-requests/--no-sign-requests", help="FSPIOP-Signature")
    ] = None,
    control_token: Annotated[
        str | None, typer.Option(help="Bearer token of the /sim control API (default: random)")
    ] = None,
    transfers: Annotated[
        str | None,
        typer.Option(help="Payee answer: commit, reserve, refuse, never, wrong-fulfilment"),
    ] = None,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 9000,
) -> None:
    """Serve a simulated FSP: it answers the hub's lookups, quotes and transfers as a payee and
    starts payments through the hub as a payer (``POST /sim/payments``)."""
    try:
        built = _config(
            config,
            fsp_id=fsp_id,
            client_id=client_id,
            hub_url=hub_url,
            key_file=key_file,
            currency=currency,
            party=party or [],
            sign_requests=sign_requests,
            control_token=control_token,
            transfers=transfers,
        )
    except (InvalidInput, TypeError) as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from exc
    if not built.control_token:
        built = replace(built, control_token=secrets.token_urlsafe(24))
        console.print(f"control token: {built.control_token}")
    configure_logging("WARNING")
    console.print(
        f"FSP {built.fsp_id} ({built.client_id}) on http://{host}:{port}, hub {built.hub_url}"
    )
    serve(Simulator(built), host=host, port=port)
