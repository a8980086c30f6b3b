"""Ledger commands: `baobab ledger accounts|show|history|transfer|post|void|import|expire|check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from baobab.cli.console import actor, console, errors, platform
from baobab.kernel.money import Money
from baobab.ledger import (
    MAX_BATCH,
    AccountFlags,
    AccountKind,
    NewAccount,
    NewTransfer,
    TransferFlags,
)

ledger_app = typer.Typer(
    help="Accounts, transfers and the books of the ledger.", no_args_is_help=True
)


@ledger_app.command("open")
def ledger_open(
    account_id: str,
    currency: Annotated[str, typer.Option()],
    kind: Annotated[AccountKind, typer.Option()],
    owner: Annotated[str, typer.Option()],
    no_overdraft: Annotated[bool, typer.Option(help="debits may not exceed credits")] = False,
    capped: Annotated[bool, typer.Option(help="credits may not exceed debits")] = False,
) -> None:
    """Open an account (idempotent)."""
    flags = AccountFlags.NONE
    if no_overdraft:
        flags |= AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    if capped:
        flags |= AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    with platform() as built:
        account = built.ledger.create_account(
            NewAccount(account_id, currency, kind, owner, flags), actor=actor()
        )
    console.print(f"account {account.id} ({account.currency}, {account.kind.value})")


@ledger_app.command("show")
def ledger_show(account_id: str) -> None:
    """An account's totals and balance."""
    with platform() as built:
        account = built.ledger.get_account(account_id)
    b = account.balance()
    console.print(
        f"{account.id} {account.currency} posted {Money(b.posted, b.currency).format()}"
        f" pending {Money(b.pending, b.currency).format()}"
        f" available {Money(b.available, b.currency).format()}"
    )


@ledger_app.command("transfer")
def ledger_transfer(
    transfer_id: str,
    debit: Annotated[str, typer.Option("--from")],
    credit: Annotated[str, typer.Option("--to")],
    amount: Annotated[str, typer.Option(help="decimal, e.g. 12.50")],
    currency: Annotated[str, typer.Option()],
    pending: Annotated[bool, typer.Option()] = False,
    timeout: Annotated[int, typer.Option(help="seconds, with --pending")] = 0,
    reference: Annotated[str, typer.Option()] = "",
) -> None:
    """Move money (or reserve it with --pending)."""
    minor = Money.parse(amount, currency).minor
    flags = TransferFlags.PENDING if pending else TransferFlags.NONE
    with platform() as built:
        t = built.ledger.create_transfer(
            NewTransfer(
                transfer_id,
                debit,
                credit,
                minor,
                currency,
                timeout=timeout,
                reference=reference,
                flags=flags,
            ),
            actor=actor(),
        )
    console.print(f"transfer {t.id}: {t.result.value}")


@ledger_app.command("import")
def ledger_import(path: Path) -> None:
    """Apply transfers from a JSON-lines file (fields of NewTransfer), 8,190 per batch."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    refused = 0
    with platform() as built:
        for start in range(0, len(lines), MAX_BATCH):
            chunk = [NewTransfer(**fields) for fields in lines[start : start + MAX_BATCH]]
            for event, result in zip(
                chunk, built.ledger.create_transfers(chunk, actor=actor()), strict=True
            ):
                if not result.succeeded:
                    refused += 1
                    errors.print(f"{event.id}: {result.value}")
    console.print(f"{len(lines) - refused} applied or already there, {refused} refused")
    if refused:
        raise typer.Exit(1)


@ledger_app.command("check")
def ledger_check() -> None:
    """The trial balance: debits equal credits per currency, no account over its limit."""
    with platform() as built:
        books = built.ledger.trial_balance()
    table = Table("currency", "accounts", "debits posted", "credits posted", "over limit", "ok")
    for b in books:
        table.add_row(
            b.currency,
            str(b.accounts),
            str(b.debits_posted),
            str(b.credits_posted),
            str(b.over_limit),
            "yes" if b.balanced else "NO",
        )
    console.print(table)
    if not all(b.balanced for b in books):
        raise typer.Exit(1)
