"""The registries' tables (SQLAlchemy Core); the migration creates the same."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from baobab.infra.database import UtcDateTime
from baobab.registries.schema import INDEXED_MAX_LENGTH, MAX_INDEXED

metadata = MetaData()
BIG = BigInteger().with_variant(Integer, "sqlite")

registries = Table(
    "registries_registries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("head_sequence", BIG, nullable=False),
    Column("head_hash", String(64), nullable=False),
    # changes with every published version: a process may keep the versions it read under it
    Column("definition_hash", String(64), nullable=False),
)

versions = Table(
    "registries_versions",
    metadata,
    Column("registry_id", Integer, ForeignKey("registries_registries.id"), primary_key=True),
    Column("version", String(20), primary_key=True),
    Column("ordinal", Integer, nullable=False),
    Column("schema", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(300), nullable=False),
)

SLOTS = tuple(range(1, MAX_INDEXED + 1))


def slot_column(slot: int) -> str:
    """The column holding the values of the indexed fields in ``slot``."""
    return f"k{slot}"


records = Table(
    "registries_records",
    metadata,
    Column("registry_id", Integer, primary_key=True),
    Column("record_id", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("schema_version", String(20), nullable=False),
    Column("revision_seq", BIG, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the live record's value of the indexed field in each slot, encoded (see schema.encode_value)
    *(Column(slot_column(n), String(INDEXED_MAX_LENGTH)) for n in SLOTS),
)
for _slot in SLOTS:  # only values are indexed: a deleted record, an absent field hold none
    _column = records.c[slot_column(_slot)]
    Index(
        f"ix_registries_records_{slot_column(_slot)}",
        records.c.registry_id,
        _column,
        records.c.record_id,
        postgresql_where=_column.isnot(None),
        sqlite_where=_column.isnot(None),
    )

revisions = Table(
    "registries_revisions",
    metadata,
    Column("registry_id", Integer, primary_key=True),
    Column("sequence", BIG, primary_key=True, autoincrement=False),
    Column("record_id", String(256), nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("operation", String(10), nullable=False),
    Column("schema_version", String(20), nullable=False),
    Column("data", Text),
    Column("actor", String(300), nullable=False),
    Column("at", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_registries_revisions_record", "registry_id", "record_id", "sequence"),
)

rights = Table(
    "registries_rights",
    metadata,
    Column("registry_id", Integer, primary_key=True),
    Column("client_id", String(265), primary_key=True),
    Column("operation", String(20), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False),
)

disclosures = Table(
    "registries_disclosures",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("registry_id", Integer, nullable=False),
    Column("record_id", String(256), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("operation", String(20), nullable=False),
    Column("fields", String(2000), nullable=False),
    Column("sequence", BIG, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_registries_disclosures_record", "registry_id", "record_id", "id"),
    Index("ix_registries_disclosures_chain", "registry_id", "sequence", unique=True),
)

# the head of each registry's disclosure chain: apart from the registry's row, which writers of
# records hold for a whole import, so that reads never wait for writes
disclosure_heads = Table(
    "registries_disclosure_heads",
    metadata,
    Column("registry_id", Integer, primary_key=True),
    Column("sequence", BIG, nullable=False),
    Column("hash", String(64), nullable=False),
)

RECORD_COLUMNS = (
    "record_id",
    "version",
    "schema_version",
    "revision_seq",
    "deleted",
    "created_at",
    "updated_at",
)
SLOT_COLUMNS = tuple(slot_column(n) for n in SLOTS)
REVISION_COLUMNS = (
    "sequence",
    "record_id",
    "record_version",
    "operation",
    "schema_version",
    "data",
    "actor",
    "at",
    "reason",
    "previous_hash",
    "hash",
)
