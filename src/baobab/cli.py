"""The ``baobab`` command: serve, migrate, administer the directory, verify the audit log, demo."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from baobab.asgi import create_app
from baobab.bootstrap import Platform, bootstrap
from baobab.demo import run as run_demo
from baobab.directory import ClientId, MemberId, ServiceRef
from baobab.infra.audit import verify_audit
from baobab.infra.logging import configure_logging
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.errors import BaobabError
from baobab.kernel.signing import Signer
from baobab.openapi import documents

app = typer.Typer(help="Baobab: foundational digital public infrastructure.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
members_app = typer.Typer(
    help="Member institutions, subsystems, keys and access rights.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(members_app, name="members")
app.add_typer(audit_app, name="audit")

console = Console()
errors = Console(stderr=True)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextmanager
def _platform(upgrade: bool | None = None) -> Iterator[Platform]:
    """Build the platform from BAOBAB_* and turn Baobab errors into a message and exit code 1."""
    platform = None
    try:
        platform = bootstrap(Settings(), upgrade=upgrade)
        yield platform
    except BaobabError as exc:
        errors.print(f"[red]error[/red] {exc.code}: {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        if platform is not None:
            platform.close()


def _client_id(text: str, instance: str) -> ClientId:
    """Accept ``CLASS/MEMBER/SUBSYSTEM`` (this instance) or a full ``INSTANCE/...`` id."""
    return ClientId.parse(text if text.count("/") == 3 else f"{instance}/{text}")


def _member_id(text: str, instance: str) -> MemberId:
    return MemberId.parse(text if text.count("/") == 2 else f"{instance}/{text}")


# --- serve and schema ---------------------------------------------------------------------------


@app.command()
def serve(
    block: Annotated[
        list[str] | None, typer.Option(help="Serve only this block (repeatable)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default BAOBAB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default BAOBAB_PORT)")] = None,
) -> None:
    """Run Baobab's HTTP API: every block in one process, or only the chosen ones."""
    settings = Settings()
    unknown = set(block or ()) - {*BLOCKS, "audit"}
    if unknown:
        errors.print(f"[red]error[/red] unknown block(s): {', '.join(sorted(unknown))}")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    with _platform() as platform:
        application = create_app(settings, platform=platform, blocks=block)
        uvicorn.run(
            application, host=host or settings.host, port=port or settings.port, log_config=None
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration of every block."""
    with _platform(upgrade=True) as platform:
        console.print(f"schema current on {platform.db.dialect}: {', '.join(BLOCKS)}")


# --- members ------------------------------------------------------------------------------------


@members_app.command("add")
def members_add(
    member: Annotated[str, typer.Argument(help="CLASS/CODE, e.g. GOV/MOF")],
    name: Annotated[str, typer.Option(help="The institution's name")],
    role: Annotated[
        list[str] | None, typer.Option(help="A role (repeatable): ministry, fsp, ...")
    ] = None,
) -> None:
    """Register a member institution."""
    with _platform() as platform:
        member_id = _member_id(member, platform.settings.instance)
        added = platform.directory.add_member(
            actor=_actor(), member_id=member_id, name=name, roles=role or []
        )
        console.print(
            f"member {added.id} registered ({', '.join(sorted(added.roles)) or 'no roles'})"
        )


@members_app.command("list")
def members_list() -> None:
    """List member institutions and their subsystems."""
    with _platform() as platform:
        table = Table("member", "name", "roles", "subsystems")
        for member in platform.directory.list_members():
            _, subsystems = platform.directory.get_member(member.id)
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
    with _platform() as platform:
        client_id = _client_id(client, platform.settings.instance)
        platform.directory.add_subsystem(actor=_actor(), client_id=client_id)
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
    with _platform() as platform:
        client_id = _client_id(client, platform.settings.instance)
        directory = platform.directory
        if add is not None:
            jwk: dict[str, Any] = json.loads(add.read_text())
            if "d" in jwk:  # a private key file: register only its public half
                jwk = Signer(jwk).public_jwk()
            if rotate:
                directory.rotate_key(
                    actor=_actor(), client_id=client_id, jwk=jwk, grace=timedelta(seconds=grace)
                )
            else:
                directory.add_key(actor=_actor(), client_id=client_id, jwk=jwk)
        if revoke is not None:
            directory.revoke_key(actor=_actor(), client_id=client_id, kid=revoke)
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
    with _platform() as platform:
        instance = platform.settings.instance
        ref = ServiceRef(_client_id(provider, instance) if provider else None, service)
        platform.directory.grant(
            actor=_actor(), client_id=_client_id(client, instance), service=ref
        )
        console.print(f"granted {ref} to {_client_id(client, instance)}")


@members_app.command("revoke")
def members_revoke(
    client: Annotated[str, typer.Argument(help="CLASS/MEMBER/SUBSYSTEM")],
    service: Annotated[str, typer.Argument(help="The scope or service code")],
    provider: Annotated[str | None, typer.Option(help="Providing subsystem")] = None,
) -> None:
    """Withdraw an access right."""
    with _platform() as platform:
        instance = platform.settings.instance
        ref = ServiceRef(_client_id(provider, instance) if provider else None, service)
        platform.directory.revoke_right(
            actor=_actor(), client_id=_client_id(client, instance), service=ref
        )
        console.print(f"revoked {ref} from {_client_id(client, instance)}")


# --- audit ----------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-compute the audit chain; name the first entry changed, removed or reordered."""
    with _platform() as platform:
        count, broken = verify_audit(platform.db)
    if broken is None:
        console.print(f"[green]audit chain intact[/green]: {count} entries verified")
        return
    errors.print(f"[red]audit chain broken at entry {broken.sequence}[/red]: {broken.reason}")
    raise typer.Exit(1)


# --- documents and demo ---------------------------------------------------------------------------


@app.command()
def openapi(
    check: Annotated[Path | None, typer.Option(help="Fail if the documents in DIR differ")] = None,
    write: Annotated[
        Path | None, typer.Option(help="Write one document per block into DIR")
    ] = None,
) -> None:
    """Generate the OpenAPI document of every block; check or write the committed copies."""
    stale = []
    for name, text in documents().items():
        path = (check or write or Path(".")) / f"{name}.json"
        if write is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif check is not None and (not path.exists() or path.read_text() != text):
            stale.append(str(path))
        elif check is None:
            sys.stdout.write(text)
    if stale:
        errors.print(
            f"[red]OpenAPI documents differ from the code[/red]: {', '.join(stale)}; "
            "run `baobab openapi --write docs/openapi`"
        )
        raise typer.Exit(1)


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's data directory afterwards")] = False,
) -> None:
    """Start the embedded stack on a fresh SQLite file and walk through a realistic scenario."""
    raise typer.Exit(run_demo(console, keep=keep))


def main() -> None:
    app()
