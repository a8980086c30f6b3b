"""Tables and store of access groups and endpoint rights (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    MetaData,
    Row,
    String,
    Table,
    UniqueConstraint,
    delete,
    select,
)

from baobab.directory import ClientId, ServiceRef
from baobab.exchange.rights import AccessGroup, EndpointRight
from baobab.infra.database import UtcDateTime, insert_new

metadata = MetaData()

groups = Table(
    "exchange_groups",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("description", String(500), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

group_members = Table(
    "exchange_group_members",
    metadata,
    Column(
        "group_code",
        String(100),
        ForeignKey("exchange_groups.code", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("client", String(265), primary_key=True),
)

rights = Table(
    "exchange_rights",
    metadata,
    Column("right_id", String(40), primary_key=True),
    Column("subject", String(300), nullable=False),
    Column("provider", String(265), nullable=False),
    Column("service_code", String(100), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "subject", "provider", "service_code", "method", "path", name="uq_exchange_rights"
    ),
)


def _right(row: Row[Any]) -> EndpointRight:
    return EndpointRight(
        right_id=row.right_id,
        subject=row.subject,
        service=ServiceRef(ClientId.parse(row.provider), row.service_code),
        method=row.method,
        path=row.path,
        created_at=row.created_at,
    )


class SqlRightsStore:
    """Groups and endpoint rights over one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add_group(self, group: AccessGroup) -> bool:
        return insert_new(
            self._c,
            groups,
            {"code": group.code, "description": group.description, "created_at": group.created_at},
        )

    def get_group(self, code: str) -> AccessGroup | None:
        row = self._c.execute(select(groups).where(groups.c.code == code)).first()
        if row is None:
            return None
        members = self._c.execute(
            select(group_members.c.client).where(group_members.c.group_code == code)
        ).scalars()
        return AccessGroup(row.code, row.description, row.created_at, frozenset(members))

    def list_groups(self) -> Sequence[AccessGroup]:
        members: dict[str, set[str]] = {}
        for code, client in self._c.execute(select(group_members)):
            members.setdefault(code, set()).add(client)
        return [
            AccessGroup(r.code, r.description, r.created_at, frozenset(members.get(r.code, ())))
            for r in self._c.execute(select(groups).order_by(groups.c.code))
        ]

    def set_member(self, code: str, client: str, *, member: bool) -> bool:
        if member:
            return insert_new(self._c, group_members, {"group_code": code, "client": client})
        result = self._c.execute(
            delete(group_members).where(
                group_members.c.group_code == code, group_members.c.client == client
            )
        )
        return result.rowcount == 1

    def add_right(self, right: EndpointRight) -> bool:
        key = (
            rights.c.subject == right.subject,
            rights.c.provider == str(right.service.provider),
            rights.c.service_code == right.service.code,
            rights.c.method == right.method,
            rights.c.path == right.path,
        )
        if self._c.execute(select(rights.c.right_id).where(*key)).first() is not None:
            return False
        return insert_new(
            self._c,
            rights,
            {
                "right_id": right.right_id,
                "subject": right.subject,
                "provider": str(right.service.provider),
                "service_code": right.service.code,
                "method": right.method,
                "path": right.path,
                "created_at": right.created_at,
            },
        )

    def remove_right(self, right_id: str) -> bool:
        result = self._c.execute(delete(rights).where(rights.c.right_id == right_id))
        return result.rowcount == 1

    def list_rights(self) -> Sequence[EndpointRight]:
        query = select(rights).order_by(rights.c.provider, rights.c.service_code, rights.c.path)
        return [_right(r) for r in self._c.execute(query)]
