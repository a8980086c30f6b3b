"""Registries: the values of indexed fields move from the side table ``registries_index`` (one
row per record and field, two B-trees each) into the records' own rows: a column per slot
``k1``..``k8`` with a partial B-tree index on ``(registry_id, k<n>, record_id)`` where a value
is present. A registry's indexed fields (besides the id) take the slots in the order of their
names, per its current schema; existing index rows are moved there, then the side table goes.

Revision ID: registries_0003
Revises: registries_0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "registries_0003"
down_revision = "registries_0002"
branch_labels = None
depends_on = None

_SLOTS = range(1, 9)


def _indexed_fields(schema_text: str) -> list[str]:
    # the slot formula of baobab.registries.schema as of this revision: indexed or unique
    # top-level fields, the id aside, in the order of their names
    properties = json.loads(schema_text).get("properties", {})
    return sorted(
        name
        for name, node in properties.items()
        if not node.get("x-id") and (node.get("x-indexed") or node.get("x-unique"))
    )


def upgrade() -> None:
    for slot in _SLOTS:
        op.add_column("registries_records", sa.Column(f"k{slot}", sa.String(256)))
    connection = op.get_bind()
    current = connection.execute(
        sa.text(
            "SELECT v.registry_id, v.schema FROM registries_versions v WHERE v.ordinal = "
            "(SELECT max(w.ordinal) FROM registries_versions w WHERE w.registry_id = v.registry_id)"
        )
    ).all()
    for registry_id, schema_text in current:
        fields = _indexed_fields(schema_text)
        if len(fields) > len(_SLOTS):
            raise RuntimeError(
                f"registry {registry_id} indexes {len(fields)} fields; at most {len(_SLOTS)} "
                "can be: publish a version with fewer indexed fields first"
            )
        if not fields:
            continue
        # one statement per registry: each record's row is rewritten once, not once per slot
        assignments = ", ".join(
            f"k{slot} = (SELECT i.value FROM registries_index i "  # noqa: S608 - k1..k8 only
            "WHERE i.registry_id = registries_records.registry_id "
            f"AND i.record_id = registries_records.record_id AND i.field = :field_{slot})"
            for slot in range(1, len(fields) + 1)
        )
        connection.execute(
            sa.text(
                f"UPDATE registries_records SET {assignments} "  # noqa: S608 - k1..k8 only
                "WHERE registry_id = :registry_id"
            ),
            {
                "registry_id": registry_id,
                **{f"field_{slot}": field for slot, field in enumerate(fields, 1)},
            },
        )
    for slot in _SLOTS:
        column: sa.ColumnClause[str] = sa.column(f"k{slot}")
        op.create_index(
            f"ix_registries_records_k{slot}",
            "registries_records",
            ["registry_id", f"k{slot}", "record_id"],
            postgresql_where=column.isnot(None),
            sqlite_where=column.isnot(None),
        )
    op.drop_table("registries_index")
