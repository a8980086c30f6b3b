"""A fresh PostgreSQL database for one benchmark run, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baobab.infra.database import normalise_url
from baobab.kernel.ids import new_id


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database ``baobab_bench_<random>`` on the server of ``admin_url``."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"baobab_bench_{new_id().replace('-', '')[-16:]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(normalise_url(admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
