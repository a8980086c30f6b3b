"""``baobab demo``: the embedded stack on a fresh SQLite file, driven through a realistic scenario
over real HTTP, with a readable account of every step. Each block adds its chapter."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from baobab.demo import consent, exchange, foundation, identity, registries, switch
from baobab.demo.stack import free_port, running_stack
from baobab.demo.story import Story
from baobab.infra.settings import Settings


def run(console: Console, *, keep: bool = False) -> int:
    """Run every chapter; 0 if every expectation held, 1 otherwise."""
    data_dir = Path(tempfile.mkdtemp(prefix="baobab-demo-"))
    port = free_port()
    settings = Settings(
        data_dir=data_dir,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        switch_settlement_grace_seconds=2,  # the demo's settlement need not wait 30 s
    )
    story = Story(console)
    console.rule("[bold]Baobab demo")
    console.print(
        f"Embedded stack: SQLite at {data_dir / 'baobab.db'}, serving http://127.0.0.1:{port}\n"
    )
    try:
        with running_stack(settings) as platform:
            foundation.chapter(story, platform)
            consent.chapter(story, platform)
            identity.chapter(story, platform)
            exchange.chapter(story, platform)
            registries.chapter(story, platform)
            switch.chapter(story, platform)
    finally:
        if keep:
            console.print(f"\nData kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return story.summary()
