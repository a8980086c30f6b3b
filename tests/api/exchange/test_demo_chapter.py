"""The demo's data exchange chapter against a real server (directory + exchange routers) and
the registry app on its own port, as `baobab demo` runs it once the block is wired."""

from __future__ import annotations

import dataclasses
import io
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from rich.console import Console

from baobab.bootstrap import Platform, bootstrap
from baobab.demo import exchange as chapter
from baobab.demo.stack import free_port
from baobab.demo.story import Story
from baobab.directory import DIRECTORY_SCOPES, DirectoryService
from baobab.directory import api as directory_api
from baobab.directory.adapters.sql import SqlDirectoryUnitOfWork
from baobab.exchange import EXCHANGE_SCOPES, Discovery, OperationalMonitor
from baobab.exchange import api as exchange_api
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.pubsub import PubSub
from baobab.infra.http.app import create_http_app
from baobab.infra.settings import Settings
from tests.integration.exchange.conftest import build_exchange

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path) -> Iterator[Platform]:
    shutil.copyfile(sqlite_template, tmp_path / "baobab.db")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'baobab.db'}",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
    built = bootstrap(settings, upgrade=False)
    db = built.db
    directory = DirectoryService(
        uow=lambda: SqlDirectoryUnitOfWork(db),
        clock=built.clock,
        scopes={*DIRECTORY_SCOPES, *EXCHANGE_SCOPES},
    )
    platform = dataclasses.replace(built, directory=directory)
    registry, log, gateway = build_exchange(platform, transport=None)  # real HTTP
    routers = [
        directory_api.build_router(
            instance=settings.instance,
            directory=directory,
            tokens=platform.tokens,
            jwks=[platform.signer.public_jwk()],
        ),
        exchange_api.build_router(
            registry=registry,
            gateway=gateway,
            log=log,
            keys=directory,
            discovery=Discovery(registry=registry, directory=directory),
            monitor=OperationalMonitor(),
            pubsub=PubSub(
                uow=lambda: SqlExchangeUnitOfWork(db), access=directory, clock=platform.clock
            ),
        ),
    ]
    app = create_http_app(
        title="demo",
        version="test",
        routers=routers,
        verifier=platform.verifier,
        check_ready=lambda: None,
        registry=CollectorRegistry(),
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    yield platform
    server.should_exit = True
    thread.join(timeout=10)
    built.close()


def test_the_chapter_runs_every_step_as_expected(served: Platform) -> None:
    output = io.StringIO()
    story = Story(Console(file=output, width=200))
    chapter.chapter(story, served)
    assert story.steps, output.getvalue()
    failed = [(s.title, s.detail) for s in story.steps if not s.ok]
    assert failed == [], output.getvalue()
    assert len(story.steps) == 6
