"""The ledger's store over the migrated test database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from baobab.infra.database import Database
from baobab.ledger.adapters.sql import SqlLedgerStore


@pytest.fixture
def ledger_url(database_url: str) -> str:
    """An empty, migrated database: the test runs once on SQLite and once on PostgreSQL."""
    return database_url


@pytest.fixture
def ledger_db(db: Database) -> Database:
    return db


@pytest.fixture
def sql_store(ledger_db: Database) -> SqlLedgerStore:
    return SqlLedgerStore(ledger_db)
