"""Consent commands: `baobab consent agreements|records|verify|export`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from baobab.cli.console import console, errors, platform
from baobab.directory import MemberId

consent_app = typer.Typer(
    help="Data agreements and consent records: list, verify, export.", no_args_is_help=True
)


def _organisation(text: str, instance: str) -> str:
    """Accept ``CLASS/CODE`` (this instance) or a full ``INSTANCE/CLASS/CODE`` member id."""
    return str(MemberId.parse(text if text.count("/") == 2 else f"{instance}/{text}"))


@consent_app.command("agreements")
def consent_agreements(
    organisation: Annotated[str, typer.Argument(help="The owning member, CLASS/CODE")],
) -> None:
    """List an organisation's data agreements (current revisions)."""
    with platform() as built:
        org = _organisation(organisation, built.settings.instance)
        table = Table("agreement", "rev", "purpose", "lawful basis", "recipients", "active")
        for agreement in built.consent.agreements.owned_by(org):
            terms = agreement.terms
            table.add_row(
                agreement.agreement_id,
                str(agreement.revision),
                terms.purpose,
                terms.lawful_basis.value,
                ", ".join(terms.recipients),
                "yes" if terms.active else "no",
            )
        console.print(table)


@consent_app.command("records")
def consent_records(
    organisation: Annotated[str, typer.Argument(help="The owning member, CLASS/CODE")],
    agreement: Annotated[str | None, typer.Option(help="Only this agreement's records")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
) -> None:
    """List an organisation's consent records (never the individuals' tokens)."""
    with platform() as built:
        org = _organisation(organisation, built.settings.instance)
        table = Table("record", "agreement", "rev", "state", "revisions", "updated")
        for record in built.consent.list_records(org, agreement_id=agreement, limit=limit):
            table.add_row(
                record.record_id,
                record.agreement_id,
                str(record.agreement_revision),
                record.state,
                str(record.sequence),
                record.at.isoformat(timespec="seconds"),
            )
        console.print(table)


@consent_app.command("verify")
def consent_verify() -> None:
    """Re-compute every consent record's chain and check its signatures and current state."""
    with platform() as built:
        count, broken = built.consent.verify_all()
    if not broken:
        console.print(f"[green]consent records intact[/green]: {count} records verified")
        return
    for failure in broken:
        assert failure.broken is not None
        errors.print(
            f"[red]record {failure.record_id} broken at revision {failure.broken.sequence}"
            f"[/red]: {failure.broken.reason}"
        )
    raise typer.Exit(1)


@consent_app.command("export")
def consent_export(
    organisation: Annotated[str, typer.Argument(help="The owning member, CLASS/CODE")],
    record: Annotated[str, typer.Argument(help="The consent record id")],
) -> None:
    """Print a record's history as ISO/IEC TS 27560-shaped JSON."""
    with platform() as built:
        org = _organisation(organisation, built.settings.instance)
        console.print_json(json.dumps(built.consent.export(org, record)))
