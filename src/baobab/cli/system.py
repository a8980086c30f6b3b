"""Commands that run or describe the whole system: serve, db upgrade, openapi, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from baobab.asgi import create_app
from baobab.cli.console import console, errors, platform
from baobab.demo import run as run_demo
from baobab.infra.http.server import run_server, run_workers
from baobab.infra.logging import configure_logging
from baobab.infra.settings import BLOCKS, Settings
from baobab.openapi import documents

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(
    block: Annotated[
        list[str] | None, typer.Option(help="Serve only this block (repeatable)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default BAOBAB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default BAOBAB_PORT)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, envvar="BAOBAB_WORKERS", help="Processes sharing the port, one core each"
        ),
    ] = 1,
    fd: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run Baobab's HTTP API: every block, or only the chosen ones, in one process or several."""
    settings = Settings()
    unknown = set(block or ()) - {*BLOCKS, "audit"}
    if unknown:
        errors.print(f"[red]error[/red] unknown block(s): {', '.join(sorted(unknown))}")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    host, port = host or settings.host, port or settings.port
    if workers > 1 and fd is None:
        with platform():
            pass  # a first start's work (schema, development keys) done once, not by each worker
        command = [sys.executable, "-m", "baobab", "serve", *(f"--block={b}" for b in block or ())]
        raise typer.Exit(run_workers(command, host=host, port=port, workers=workers))
    with platform() as built:
        application = create_app(settings, platform=built, blocks=block)
        run_server(application, host=host, port=port, fd=fd)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration of every block."""
    with platform(upgrade=True) as built:
        console.print(f"schema current on {built.db.dialect}: {', '.join(BLOCKS)}")


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


def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's data directory afterwards")] = False,
) -> None:
    """Start the embedded stack on a fresh SQLite file and walk through a realistic scenario."""
    raise typer.Exit(run_demo(console, keep=keep))
