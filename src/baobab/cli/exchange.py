"""Exchange commands: `baobab exchange verify|checkpoint|stamp|evidence|verify-evidence|body|
deliver`.

``verify-evidence`` needs no database and no Baobab instance: it is the offline check a third
party runs on an evidence bundle (the procedure is in ``docs/exchange.md``).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from baobab.bootstrap import Platform
from baobab.cli.console import console, errors, platform
from baobab.exchange import MessageLog, verify_bundle
from baobab.exchange.adapters.http import HttpxWebhookSender
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.adapters.tsa import check_offline
from baobab.exchange.delivery import PushDelivery
from baobab.exchange.pubsub import PubSub
from baobab.exchange.workers import CheckpointSealer

exchange_app = typer.Typer(
    help="Data exchange: verify the message log, export and check evidence.",
    no_args_is_help=True,
)


def message_log(built: Platform) -> MessageLog:
    """The platform's message log: signed by the instance key, with the configured body cipher
    and time-stamping authority."""
    return built.exchange.log


@exchange_app.command("verify")
def exchange_verify() -> None:
    """Re-compute the message log chain and every signed Merkle checkpoint."""
    with platform() as built:
        verdict = message_log(built).verify()
    if verdict.intact:
        console.print(
            f"[green]message log intact[/green]: {verdict.entries} entries, "
            f"{verdict.checkpoints} checkpoints verified"
        )
        return
    for problem in verdict.problems:
        errors.print(f"[red]message log broken[/red]: {problem}")
    raise typer.Exit(1)


def push_delivery(built: Platform, sender: HttpxWebhookSender) -> tuple[PushDelivery, PubSub]:
    """The pub/sub delivery worker and the use cases over the platform's database."""
    db = built.db
    signer = built.signer
    worker = PushDelivery(
        uow=lambda: SqlExchangeUnitOfWork(db),
        sender=sender,
        clock=built.clock,
        sign=lambda claims: signer.encode(dict(claims), typ="xroad-event+jws"),
    )
    pubsub = PubSub(
        uow=lambda: SqlExchangeUnitOfWork(db), access=built.directory, clock=built.clock
    )
    return worker, pubsub


@exchange_app.command("deliver")
def exchange_deliver(
    once: Annotated[bool, typer.Option(help="One pass, then exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes")] = 1.0,
) -> None:
    """Run the pub/sub delivery worker: push due events to webhooks, purge expired ones."""

    async def loop(worker: PushDelivery, pubsub: PubSub, sender: HttpxWebhookSender) -> None:
        try:
            while True:
                delivered = await worker.deliver_due()
                purged = pubsub.purge()
                if once:
                    console.print(f"{delivered} events delivered, {purged} expired purged")
                    return
                await asyncio.sleep(interval)
        finally:
            await sender.aclose()

    with platform() as built:
        sender = HttpxWebhookSender()
        worker, pubsub = push_delivery(built, sender)
        asyncio.run(loop(worker, pubsub, sender))


@exchange_app.command("checkpoint")
def exchange_checkpoint() -> None:
    """Seal the entries not yet under a checkpoint with a signed Merkle root."""
    with platform() as built:
        sealed = message_log(built).checkpoint()
    if sealed is None:
        console.print("nothing to seal: every entry is under a checkpoint")
        return
    console.print(f"sealed entries {sealed.first}..{sealed.last}: Merkle root {sealed.root}")


@exchange_app.command("stamp")
def exchange_stamp() -> None:
    """Ask the RFC 3161 time-stamping authority for a token over every checkpoint without one."""
    with platform() as built:
        log = message_log(built)
        if log.stamper is None:
            errors.print("no time-stamping authority: set BAOBAB_EXCHANGE_TSA_URL")
            raise typer.Exit(1)
        sealer = CheckpointSealer(log, max_age=timedelta.max, max_entries=sys.maxsize)
        stamped = asyncio.run(sealer.stamp_pending())
        left = len(log.unstamped())
    console.print(f"{stamped} checkpoints time-stamped, {left} still waiting")
    if left:
        raise typer.Exit(1)


@exchange_app.command("body")
def exchange_body(
    message_id: Annotated[str, typer.Argument(help="The X-Road-Request-Id of the message")],
    part: Annotated[str, typer.Argument(help="request or response")] = "request",
    out: Annotated[Path | None, typer.Option(help="Write the body here (default stdout)")] = None,
) -> None:
    """Decrypt a stored message body (kept only with BAOBAB_EXCHANGE_STORE_BODIES)."""
    if part not in ("request", "response"):
        errors.print("the part is request or response")
        raise typer.Exit(2)
    with platform() as built:
        body = message_log(built).bodies(message_id).get(part)
    if body is None:
        errors.print(f"no stored {part} body of {message_id}")
        raise typer.Exit(1)
    if out is None:
        sys.stdout.buffer.write(body)
        return
    out.write_bytes(body)


@exchange_app.command("evidence")
def exchange_evidence(
    message_id: Annotated[str, typer.Argument(help="The X-Road-Request-Id of the message")],
    out: Annotated[Path | None, typer.Option(help="Write the bundle here (default stdout)")] = None,
) -> None:
    """Export a message's signed evidence bundle, verifiable offline."""
    with platform() as built:
        bundle = message_log(built).evidence(message_id, keys=built.directory)
        kid = built.signer.kid
    if out is None:
        sys.stdout.buffer.write(bundle)
        return
    out.write_bytes(bundle)
    errors.print(f"evidence for {message_id} written to {out}; instance key thumbprint {kid}")


@exchange_app.command("verify-evidence")
def exchange_verify_evidence(
    bundle: Annotated[Path, typer.Argument(help="An evidence bundle file", exists=True)],
    trusted_kid: Annotated[
        str | None,
        typer.Option(help="The instance key's RFC 7638 thumbprint, as the operator publishes it"),
    ] = None,
    trusted_tsa: Annotated[
        str | None,
        typer.Option(help="SHA-256 (hex) of the time-stamping authority's DER certificate"),
    ] = None,
) -> None:
    """Check an evidence bundle offline: signatures, hash chain link, Merkle proof, time-stamp."""
    report = verify_bundle(
        bundle.read_bytes(),
        trusted_kid=trusted_kid,
        trusted_tsa=trusted_tsa,
        stamp_check=check_offline,
    )
    for name, ok in report.checks:
        mark = "[green]✔[/green]" if ok else "[red]✘[/red]"
        console.print(f"{mark} {name}")
    if trusted_kid is None:
        console.print(
            f"[yellow]note[/yellow]: the instance key {report.instance_kid} was taken from the "
            "bundle; pass --trusted-kid to pin the operator's published key"
        )
    if report.tsa_fingerprint is not None and trusted_tsa is None:
        console.print(
            f"[yellow]note[/yellow]: the TSA certificate {report.tsa_fingerprint} was taken from "
            "the bundle; pass --trusted-tsa to pin the authority's published certificate"
        )
    if report.time_stamped_at is not None:
        console.print(f"checkpoint time-stamped at {report.time_stamped_at.isoformat()}")
    if not report.valid:
        errors.print("[red]the evidence does not verify[/red]")
        raise typer.Exit(1)
    console.print(f"[green]evidence verifies[/green] for message {report.message_id}")
