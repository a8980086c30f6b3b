"""The ``baobab`` command: serve, migrate, administer the directory, verify the audit log, demo.

One module per concern; each adds its commands to the app here.
"""

from __future__ import annotations

import typer

from baobab.cli import (
    consent,
    directory,
    exchange,
    fspsim,
    identity,
    ledger,
    registries,
    switch,
    system,
)

app = typer.Typer(help="Baobab: foundational digital public infrastructure.", no_args_is_help=True)
app.command()(system.serve)
app.command()(system.openapi)
app.command()(system.demo)
app.command("fsp-sim")(fspsim.fsp_sim)
app.add_typer(system.db_app, name="db")
app.add_typer(directory.members_app, name="members")
app.add_typer(directory.audit_app, name="audit")
app.add_typer(consent.consent_app, name="consent")
app.add_typer(exchange.exchange_app, name="exchange")
app.add_typer(registries.registries_app, name="registries")
app.add_typer(identity.identity_app, name="identity")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(switch.switch_app, name="switch")


def main() -> None:
    app()
