"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a platform with a manual
clock, an in-process HTTP client, and subsystems with keys and tokens.

PostgreSQL is ``BAOBAB_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Each test session creates its own database there and drops it at the end. Without PostgreSQL the
PostgreSQL cases are skipped — except when ``CI`` is set, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baobab.asgi import create_app
from baobab.bootstrap import Platform, bootstrap
from baobab.directory import Role
from baobab.infra import migrate
from baobab.infra.database import Database, normalise_url
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.clock import ManualClock
from baobab.kernel.ids import new_id
from tests.support import ENGINES, START, Caller, empty_postgres, register

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = normalise_url(os.environ.get("BAOBAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no PostgreSQL"
        admin.dispose()
        message = f"PostgreSQL is not reachable at {admin_url}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"baobab_test_{new_id().replace('-', '')[-16:]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate.upgrade(db, BLOCKS)
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "baobab.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db, BLOCKS)
    db.dispose()
    return path


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        empty_postgres(url)
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "baobab.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var", database_url=database_url, public_url="http://testserver"
    )


@pytest.fixture
def platform(settings: Settings, clock: ManualClock) -> Iterator[Platform]:
    built = bootstrap(settings, clock=clock, upgrade=False)
    yield built
    built.close()


@pytest.fixture
def api(settings: Settings, platform: Platform) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, platform=platform), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
def admin(platform: Platform) -> Caller:
    """An operator subsystem with every directory and audit scope."""
    return register(
        platform,
        "GOV/OPS/console",
        scopes=("directory:admin", "directory:read", "audit:read"),
        roles=(Role.OPERATOR,),
    )
