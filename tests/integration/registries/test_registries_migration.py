"""The move of indexed values from the side table into the records' slot columns
(``registries_0003``), on SQLite and PostgreSQL: a registry migrated with its records is found
by the same searches as before, a deleted record by none, and the side table is gone. Then the
side table of unique values goes (``registries_0004``): a value a migrated record holds is still
refused to another, and freed when that record is deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, inspect, make_url, text

from baobab.bootstrap import bootstrap
from baobab.infra import migrate
from baobab.infra.database import Database, normalise_url
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.ids import new_id
from baobab.registries import example_schema, import_records, parse_schema
from baobab.registries.bulk import iter_rows
from baobab.registries.errors import UniqueViolation
from baobab.registries.examples import households
from baobab.registries.jsontext import canonical
from baobab.registries.schema import RegistrySchema
from tests.integration.registries.conftest import OPERATOR
from tests.support import ENGINES

CODE = "social-registry"
AT = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without any table yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    admin_url = normalise_url(
        os.environ.get("BAOBAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"baobab_test_{new_id().replace('-', '')[-16:]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_indexed_values_move_into_the_records(blank_url: str, tmp_path: Path) -> None:
    db = Database(blank_url)
    command.upgrade(migrate._config(db, BLOCKS), "registries_0002")
    homes = list(households(3))
    schema = parse_schema(example_schema(CODE))
    with db.transaction() as c:
        _registry(c, schema, head_sequence=3)
        for number, home in enumerate(homes, 1):
            record_id, deleted = home["household_id"], number == 3
            c.execute(
                text(
                    "INSERT INTO registries_records VALUES "
                    "(1, :id, 1, '1.0', :seq, :deleted, :at, :at)"
                ),
                {"id": record_id, "seq": number, "deleted": deleted, "at": AT},
            )
            c.execute(
                text(
                    "INSERT INTO registries_revisions VALUES (1, :seq, :id, 1, 'create', '1.0', "
                    ":data, 'operator', 'at', 'import', :hash, :hash)"
                ),
                {"seq": number, "id": record_id, "data": canonical(home), "hash": "0" * 64},
            )
            for field, value in [] if deleted else schema.index_entries(home):
                c.execute(
                    text("INSERT INTO registries_index VALUES (1, :id, :field, :value)"),
                    {"id": record_id, "field": field, "value": value},
                )
    db.dispose()
    settings = Settings(data_dir=tmp_path / "var", database_url=blank_url)
    platform = bootstrap(settings, upgrade=True)
    try:
        with platform.db.transaction() as c:
            assert "registries_index" not in inspect(c).get_table_names()
            rows = c.execute(
                text("SELECT record_id, k1, k2, k3, k4, k5, k6, k7, k8 FROM registries_records")
            ).all()
        slots = schema.index_slots
        expected = {}
        for number, home in enumerate(homes, 1):
            values: list[str | None] = [None] * 8
            for field, value in [] if number == 3 else schema.index_entries(home):
                values[slots[field] - 1] = value
            expected[home["household_id"]] = tuple(values)
        assert {row[0]: tuple(row[1:]) for row in rows} == expected
        service = platform.registries
        for home in homes[:2]:
            page = service.search(OPERATOR, CODE, "1.0", filters={"village": home["village"]})
            assert home["household_id"] in [r.record_id for r in page.records]
        gone = homes[2]
        page = service.search(OPERATOR, CODE, "1.0", filters={"region": gone["region"]})
        assert gone["household_id"] not in [r.record_id for r in page.records]
    finally:
        platform.close()


def test_unique_values_are_kept_in_the_slots_once_the_side_table_goes(
    blank_url: str, tmp_path: Path
) -> None:
    db = Database(blank_url)
    command.upgrade(migrate._config(db, BLOCKS), "registries_0003")
    first, second, third = households(3)
    schema = parse_schema(example_schema(CODE))
    with db.transaction() as c:
        _registry(c, schema, head_sequence=2)
        for number, home in enumerate((first, second), 1):
            record_id = home["household_id"]
            c.execute(
                text(
                    "INSERT INTO registries_records VALUES (1, :id, 1, '1.0', :seq, false, :at, "
                    ":at, :k1, :k2, :k3, :k4, :k5, :k6, :k7, :k8)"
                ),
                {
                    "id": record_id,
                    "seq": number,
                    "at": AT,
                    **{f"k{n}": v for n, v in enumerate(schema.slot_values(home), 1)},
                },
            )
            c.execute(
                text(
                    "INSERT INTO registries_revisions VALUES (1, :seq, :id, 1, 'create', '1.0', "
                    ":data, 'operator', 'at', 'import', :hash, :hash)"
                ),
                {"seq": number, "id": record_id, "data": canonical(home), "hash": "0" * 64},
            )
            for field, value in schema.unique_entries(home):
                c.execute(
                    text("INSERT INTO registries_unique VALUES (1, :field, :value, :id)"),
                    {"id": record_id, "field": field, "value": value},
                )
    db.dispose()
    settings = Settings(data_dir=tmp_path / "var", database_url=blank_url)
    platform = bootstrap(settings, upgrade=True)
    try:
        with platform.db.transaction() as c:
            assert "registries_unique" not in inspect(c).get_table_names()
        service = platform.registries
        clash = {**third, "head_identity": first["head_identity"]}
        with pytest.raises(UniqueViolation, match="head_identity is already held"):
            service.create(OPERATOR, CODE, "1.0", clash)
        report = import_records(
            service, OPERATOR, CODE, "1.0", iter_rows([clash]), all_or_nothing=False
        )
        assert [v.reason for v in report.violations] == ["value held by another record"]
        service.delete(
            OPERATOR, CODE, "1.0", first["household_id"], expected_version=1, reason="moved"
        )
        created = service.create(OPERATOR, CODE, "1.0", clash)  # a deleted record frees it
        assert created.data["head_identity"] == first["head_identity"]
    finally:
        platform.close()


def _registry(c: Connection, schema: RegistrySchema, *, head_sequence: int) -> None:
    """The social registry's rows as an older schema holds them, version 1.0 of ``schema``."""
    c.execute(
        text(
            "INSERT INTO registries_registries (id, code, name, description, created_at, "
            "head_sequence, head_hash, definition_hash) "
            "VALUES (1, :code, 'Social', '', :at, :sequence, :hash, :hash)"
        ),
        {"code": CODE, "at": AT, "hash": "0" * 64, "sequence": head_sequence},
    )
    c.execute(
        text("INSERT INTO registries_versions VALUES (1, '1.0', 1, :schema, :at, 'operator')"),
        {"schema": schema.text, "at": AT},
    )
    c.execute(
        text("INSERT INTO registries_disclosure_heads VALUES (1, 0, :genesis)"),
        {"genesis": "0" * 64},
    )
