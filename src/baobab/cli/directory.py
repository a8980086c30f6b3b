"""Directory and audit commands: `baobab members ...` and `baobab audit verify`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from baobab.cli.console import actor, console, errors, platform
from baobab.directory import ClientId, MemberId, ServiceRef
from baobab.infra.audit import verify_audit
from baobab.kernel.signing import Signer

members_app = typer.Typer(
    help="Member institutions, subsystems, keys and access rights.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _client_id(text: str, instance: str) -> ClientId:
    """Accept ``CLASS/MEMBER/SUBSYSTEM`` (this instance) or a full ``INSTANCE/...`` id."""
    return ClientId.parse(text if text.count("/") == 3 else f"{instance}/{text}")


def _member_id(text: str, instance: str) -> MemberId:
    return MemberId.parse(text if text.count("/") == 2 else f"{instance}/{text}")


@members_app.command("add")
def members_add(
    member: Annotated[str, typer.Argument(help="CLASS/CODE, e.g. GOV/MOF")],
    name: Annotated[str, typer.Option(help="The institution's name")],
    role: Annotated[
        list[str] | None, typer.Option(help="A role (repeatable): ministry, fsp, ...")
    ] = None,
) -> None:
    """Register a member institution."""
    with platform() as built:
        member_id = _member_id(member, built.settings.instance)
        added = built.directory.add_member(
            actor=actor(), member_id=member_id, name=name, roles=role or []
        )
        console.print(
            f"member {added.id} registered ({', '.join(sorted(added.roles)) or 'no roles'})"
        )


@members_app.command("list")
def members_list() -> None:
    """List member institutions and their subsystems."""
    with platform() as built:
        table = Table("member", "name", "roles", "subsystems")
        for member in built.directory.list_members():
            _, subsystems = built.directory.get_member(member.id)
            names = ", ".join(
                s.id.subsystem_code + ("" if s.enabled else " (disabled)") for s in subsystems
            )
            table.add_row(str(member.id), member.name, ", ".join(sorted(member.roles)), names)
        console.print(table)


@members_app.command("subsystem")
def members_subsystem(
    client: Annotated[str, typer.Argument(help="CLASS/MEMBER/SUBSYSTEM")],
) -> None:
    """Register a subsystem of a member."""
    with platform() as built:
        client_id = _client_id(client, built.settings.instance)
        built.directory.add_subsystem(actor=actor(), client_id=client_id)
        console.print(f"subsystem {client_id} registered")


@members_app.command("keygen")
def members_keygen(
    out: Annotated[Path, typer.Argument(help="Where to write the private JWK (mode 600)")],
    curve: Annotated[str, typer.Option(help="Ed25519 or P-256")] = "Ed25519",
) -> None:
    """Generate a key pair for a subsystem; prints the public JWK to register with `keys --add`."""
    signer = Signer.generate(curve)
    out.touch(mode=0o600, exist_ok=False)
    out.write_text(json.dumps(signer.private_jwk()))
    console.print_json(json.dumps(signer.public_jwk()))


@members_app.command("keys")
def members_keys(
    client: Annotated[str, typer.Argument(help="CLASS/MEMBER/SUBSYSTEM")],
    add: Annotated[
        Path | None, typer.Option(help="Register this public (or private) JWK file")
    ] = None,
    rotate: Annotated[bool, typer.Option(help="With --add: retire the active keys")] = False,
    grace: Annotated[int, typer.Option(help="Seconds retired keys stay valid")] = 3600,
    revoke: Annotated[str | None, typer.Option(help="Revoke the key with this kid")] = None,
) -> None:
    """List a subsystem's keys; add, rotate or revoke one."""
    with platform() as built:
        client_id = _client_id(client, built.settings.instance)
        directory = built.directory
        if add is not None:
            jwk: dict[str, Any] = json.loads(add.read_text())
            if "d" in jwk:  # a private key file: register only its public half
                jwk = Signer(jwk).public_jwk()
            if rotate:
                directory.rotate_key(
                    actor=actor(), client_id=client_id, jwk=jwk, grace=timedelta(seconds=grace)
                )
            else:
                directory.add_key(actor=actor(), client_id=client_id, jwk=jwk)
        if revoke is not None:
            directory.revoke_key(actor=actor(), client_id=client_id, kid=revoke)
        table = Table("kid", "alg", "status", "created", "not after")
        for key in directory.keys_of(client_id):
            table.add_row(
                key.kid,
                key.alg,
                key.status.value,
                key.created_at.isoformat(timespec="seconds"),
                key.not_after.isoformat(timespec="seconds") if key.not_after else "",
            )
        console.print(table)


@members_app.command("grant")
def members_grant(
    client: Annotated[str, typer.Argument(help="CLASS/MEMBER/SUBSYSTEM that gets the right")],
    service: Annotated[
        str, typer.Argument(help="A platform scope (ledger:read) or a service code")
    ],
    provider: Annotated[
        str | None, typer.Option(help="Providing subsystem; omit for a platform scope")
    ] = None,
) -> None:
    """Allow a subsystem to call a service. Everything not granted is denied."""
    with platform() as built:
        instance = built.settings.instance
        ref = ServiceRef(_client_id(provider, instance) if provider else None, service)
        built.directory.grant(actor=actor(), client_id=_client_id(client, instance), service=ref)
        console.print(f"granted {ref} to {_client_id(client, instance)}")


@members_app.command("revoke")
def members_revoke(
    client: Annotated[str, typer.Argument(help="CLASS/MEMBER/SUBSYSTEM")],
    service: Annotated[str, typer.Argument(help="The scope or service code")],
    provider: Annotated[str | None, typer.Option(help="Providing subsystem")] = None,
) -> None:
    """Withdraw an access right."""
    with platform() as built:
        instance = built.settings.instance
        ref = ServiceRef(_client_id(provider, instance) if provider else None, service)
        built.directory.revoke_right(
            actor=actor(), client_id=_client_id(client, instance), service=ref
        )
        console.print(f"revoked {ref} from {_client_id(client, instance)}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-compute the audit chain; name the first entry changed, removed or reordered."""
    with platform() as built:
        count, broken = verify_audit(built.db)
    if broken is None:
        console.print(f"[green]audit chain intact[/green]: {count} entries verified")
        return
    errors.print(f"[red]audit chain broken at entry {broken.sequence}[/red]: {broken.reason}")
    raise typer.Exit(1)
