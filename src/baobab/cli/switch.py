"""Switch commands: `baobab switch participants list|show|register|currency|endpoint|enable|
disable|deposit|withdraw|limit`, `baobab switch settlement windows|close|report|start|settle`
and `baobab switch callbacks failed`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from baobab.cli.console import actor, console, platform
from baobab.kernel.ids import new_id
from baobab.kernel.money import Money

switch_app = typer.Typer(help="The payment switch (FSPIOP hub).", no_args_is_help=True)
participants_app = typer.Typer(help="FSPs connected to the switch.", no_args_is_help=True)
callbacks_app = typer.Typer(help="The callback outbox.", no_args_is_help=True)
switch_app.add_typer(participants_app, name="participants")
switch_app.add_typer(callbacks_app, name="callbacks")


@participants_app.command("list")
def participants_list() -> None:
    """Every FSP, enabled or not, with its currencies."""
    with platform() as built:
        found = built.switch.participants.all()
    table = Table("FSP", "member", "enabled", "currencies")
    for p in found:
        table.add_row(
            p.fsp_id, p.member, "yes" if p.enabled else "no", " ".join(sorted(p.currencies))
        )
    console.print(table)


@participants_app.command("show")
def participants_show(fsp_id: str) -> None:
    """An FSP's endpoints and its position per currency."""
    with platform() as built:
        found = built.switch.participants.get(fsp_id)
        positions = built.switch.participants.positions(fsp_id)
    console.print(f"{found.fsp_id} ({found.member}) {'enabled' if found.enabled else 'disabled'}")
    for kind, url in sorted(found.endpoints.items()):
        console.print(f"  {kind}: {url}")
    table = Table("currency", "liquidity", "NDC", "net position", "reserved", "headroom")
    for p in positions:
        table.add_row(
            p.currency,
            *(
                str(v)
                for v in (p.liquidity, p.net_debit_cap, p.net_position, p.reserved, p.headroom)
            ),
        )
    console.print(table)


@participants_app.command("register")
def participants_register(
    fsp_id: str,
    member: Annotated[str, typer.Option(help="directory member INSTANCE/CLASS/CODE with role fsp")],
    currency: Annotated[
        list[str] | None, typer.Option(help="currency to hold (repeatable)")
    ] = None,
) -> None:
    """Register a directory member as an FSP."""
    with platform() as built:
        built.switch.participants.register(
            actor=actor(), fsp_id=fsp_id, member=member, currencies=currency or []
        )
    console.print(f"registered {fsp_id}")


@participants_app.command("currency")
def participants_currency(fsp_id: str, currency: str) -> None:
    """Let an FSP transact in one more currency."""
    with platform() as built:
        built.switch.participants.add_currency(actor=actor(), fsp_id=fsp_id, currency=currency)
    console.print(f"{fsp_id} holds {currency}")


@participants_app.command("endpoint")
def participants_endpoint(fsp_id: str, kind: str, url: str) -> None:
    """Set a callback endpoint, e.g. FSPIOP_CALLBACK_URL_TRANSFER_POST https://fsp/transfers."""
    with platform() as built:
        built.switch.participants.set_endpoint(actor=actor(), fsp_id=fsp_id, kind=kind, value=url)
    console.print(f"{fsp_id} {kind} = {url}")


@participants_app.command("enable")
def participants_enable(fsp_id: str) -> None:
    """Enable an FSP."""
    with platform() as built:
        built.switch.participants.set_enabled(actor=actor(), fsp_id=fsp_id, enabled=True)
    console.print(f"{fsp_id} enabled")


@participants_app.command("disable")
def participants_disable(fsp_id: str) -> None:
    """Disable an FSP: it can neither send nor receive transfers."""
    with platform() as built:
        built.switch.participants.set_enabled(actor=actor(), fsp_id=fsp_id, enabled=False)
    console.print(f"{fsp_id} disabled")


@participants_app.command("deposit")
def participants_deposit(
    fsp_id: str,
    amount: str,
    currency: str,
    movement_id: Annotated[str | None, typer.Option(help="idempotency key")] = None,
) -> None:
    """Record liquidity the FSP paid in."""
    with platform() as built:
        money = Money.parse(amount, currency)
        built.switch.participants.deposit(
            actor=actor(),
            fsp_id=fsp_id,
            currency=currency,
            amount=money.minor,
            movement_id=movement_id or new_id(),
        )
    console.print(f"{fsp_id} +{money.format()} {currency}")


@participants_app.command("withdraw")
def participants_withdraw(
    fsp_id: str,
    amount: str,
    currency: str,
    movement_id: Annotated[str | None, typer.Option(help="idempotency key")] = None,
) -> None:
    """Pay out free liquidity to the FSP."""
    with platform() as built:
        money = Money.parse(amount, currency)
        built.switch.participants.withdraw(
            actor=actor(),
            fsp_id=fsp_id,
            currency=currency,
            amount=money.minor,
            movement_id=movement_id or new_id(),
        )
    console.print(f"{fsp_id} -{money.format()} {currency}")


@participants_app.command("limit")
def participants_limit(fsp_id: str, amount: str, currency: str) -> None:
    """Set the Net Debit Cap (earmarks liquidity)."""
    with platform() as built:
        money = Money.parse(amount, currency)
        built.switch.participants.set_net_debit_cap(
            actor=actor(), fsp_id=fsp_id, currency=currency, amount=money.minor
        )
    console.print(f"{fsp_id} NDC {money.format()} {currency}")


@callbacks_app.command("failed")
def callbacks_failed(limit: int = 100) -> None:
    """Callbacks given up on after their retries."""
    with platform() as built:
        found = built.switch.store.failed_callbacks(limit)
    table = Table("id", "FSP", "method", "url", "attempts", "last error")
    for item, error in found:
        c = item.callback
        table.add_row(str(item.id), c.fsp_id, c.method, c.url, str(item.attempts), error)
    console.print(table)


settlement_app = typer.Typer(help="Settlement windows.", no_args_is_help=True)
switch_app.add_typer(settlement_app, name="settlement")


@settlement_app.command("windows")
def settlement_windows(limit: int = 20) -> None:
    """Settlement windows, newest first."""
    with platform() as built:
        found = built.switch.settlement.windows(limit)
    table = Table("window", "state", "opened", "closed", "settled")
    for w in found:
        table.add_row(
            str(w.window_id),
            w.state.value,
            w.opened_at.isoformat(),
            w.closed_at.isoformat() if w.closed_at else "",
            w.settled_at.isoformat() if w.settled_at else "",
        )
    console.print(table)


@settlement_app.command("close")
def settlement_close() -> None:
    """Close the open window and open the next."""
    with platform() as built:
        closed = built.switch.settlement.close(actor=actor())
    console.print(f"window {closed.window_id} closed")


@settlement_app.command("report")
def settlement_report(
    window_id: int, csv: Annotated[bool, typer.Option(help="CSV instead of JSON")] = False
) -> None:
    """A window's net positions per FSP and currency."""
    with platform() as built:
        found = built.switch.settlement.report(window_id)
    if csv:
        typer.echo(found.as_csv(), nl=False)
    else:
        typer.echo(json.dumps(found.as_json(), indent=2))


@settlement_app.command("start")
def settlement_start(window_id: int) -> None:
    """Freeze a closed window's net positions for settlement."""
    with platform() as built:
        built.switch.settlement.start(actor=actor(), window_id=window_id)
    console.print(f"window {window_id} pending settlement")


@settlement_app.command("settle")
def settlement_settle(window_id: int) -> None:
    """Move the funds and reset the positions of a window pending settlement."""
    with platform() as built:
        built.switch.settlement.settle(actor=actor(), window_id=window_id)
    console.print(f"window {window_id} settled")
