"""The demo's narrator: numbered steps with a check or a cross, and a closing summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table


class Unexpected(Exception):
    """A demo step saw something other than what a working system does."""


@dataclass
class _Step:
    chapter: str
    title: str
    ok: bool
    detail: str
    seconds: float


class Story:
    """Runs steps, prints each as it finishes, and keeps them for the summary."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.steps: list[_Step] = []
        self.chapter_name = ""

    def chapter(self, name: str, intro: str) -> None:
        self.chapter_name = name
        self.console.print(f"\n[bold cyan]{name}[/bold cyan] — {intro}")

    def step(self, title: str, action: Callable[[], str]) -> None:
        """Run ``action``; its return value is the step's one-line result."""
        started = time.perf_counter()
        with self.console.status(title):
            try:
                detail, ok = action(), True
            except Unexpected as exc:
                detail, ok = str(exc), False
        elapsed = time.perf_counter() - started
        self.steps.append(_Step(self.chapter_name, title, ok, detail, elapsed))
        mark = "[green]✔[/green]" if ok else "[red]✘[/red]"
        self.console.print(f"  {mark} {title}: [dim]{detail}[/dim]")

    def summary(self) -> int:
        table = Table(title="Summary", show_lines=False)
        for column in ("chapter", "steps", "passed", "seconds"):
            table.add_column(column)
        for chapter in dict.fromkeys(s.chapter for s in self.steps):
            steps = [s for s in self.steps if s.chapter == chapter]
            passed = sum(s.ok for s in steps)
            table.add_row(
                chapter, str(len(steps)), str(passed), f"{sum(s.seconds for s in steps):.2f}"
            )
        self.console.print()
        self.console.print(table)
        failed = [s for s in self.steps if not s.ok]
        if failed:
            self.console.print(f"[red]{len(failed)} step(s) did not go as expected.[/red]")
            return 1
        self.console.print(f"[green]All {len(self.steps)} steps went as expected.[/green]")
        return 0


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Unexpected` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Unexpected(message)


def answer(response: httpx.Response, expected: int) -> Any:
    """The JSON body of ``response`` if its status is ``expected``; else the step fails."""
    body = response.json() if response.content else None
    expect(
        response.status_code == expected,
        f"expected HTTP {expected}, got {response.status_code}: {body}",
    )
    return body
