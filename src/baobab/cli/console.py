"""What every command shares: the consoles, the platform built from BAOBAB_*, the acting user."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from baobab.bootstrap import Platform, bootstrap
from baobab.infra.settings import Settings
from baobab.kernel.errors import BaobabError

console = Console()
errors = Console(stderr=True)


def actor() -> str:
    """How the console operator appears in the audit log."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def platform(upgrade: bool | None = None) -> Iterator[Platform]:
    """Build the platform from BAOBAB_* and turn Baobab errors into a message and exit code 1."""
    built = None
    try:
        built = bootstrap(Settings(), upgrade=upgrade)
        yield built
    except BaobabError as exc:
        errors.print(f"[red]error[/red] {exc.code}: {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        if built is not None:
            built.close()
