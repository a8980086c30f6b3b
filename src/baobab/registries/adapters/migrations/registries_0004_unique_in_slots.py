"""Registries: the side table ``registries_unique`` goes. A unique field is indexed, so its value
is already in its slot column of the record's row (``registries_0003``), under the slot's partial
index, and cleared when the record is deleted; the writer checks it there before writing, under
the registry's chain head that every writer holds. The side table held the same values a second
time, a row and a B-tree entry per value.

Revision ID: registries_0004
Revises: registries_0003
"""

from __future__ import annotations

from alembic import op

revision = "registries_0004"
down_revision = "registries_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("registries_unique")
