"""Registries, their published versions and the per-registry rights, in SQL."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from baobab.kernel.hashchain import GENESIS
from baobab.registries.adapters.tables import (
    disclosure_heads,
    registries,
    rights,
    versions,
)
from baobab.registries.adapters.transaction import SqlTransaction
from baobab.registries.domain import (
    Operation,
    Registry,
    RegistryVersion,
    Right,
)

# definition hash -> published versions: a process keeps what it read under an unchanged hash
_DEFINITIONS: dict[str, tuple[RegistryVersion, ...]] = {}
# on the path of every request: built once (building costs more than the database's answer)
_REGISTRY_FOR = (
    select(registries, rights.c.operation)
    .select_from(
        registries.outerjoin(
            rights,
            and_(
                rights.c.registry_id == registries.c.id,
                rights.c.client_id == bindparam("client_id"),
            ),
        )
    )
    .where(registries.c.code == bindparam("code"))
)


class DefinitionStore(SqlTransaction):
    """Registries, versions and rights."""

    def _registries(self, where: ColumnElement[bool] | None) -> list[Registry]:
        query = select(registries)
        if where is not None:
            query = query.where(where)
        found = list(self._c.execute(query.order_by(registries.c.code)))
        if not found:
            return []
        published: dict[int, list[RegistryVersion]] = {r.id: [] for r in found}
        rows = self._c.execute(
            select(versions)
            .where(versions.c.registry_id.in_(list(published)))
            .order_by(versions.c.registry_id, versions.c.ordinal)
        )
        for v in rows:
            published[v.registry_id].append(
                RegistryVersion(v.version, v.schema, v.created_at, v.created_by)
            )
        return [
            self._remember(
                Registry(r.id, r.code, r.name, r.description, r.created_at, tuple(published[r.id]))
            )
            for r in found
            if published[r.id]
        ]

    def get_registry(self, code: str) -> Registry | None:
        found = self._registries(registries.c.code == code)
        return found[0] if found else None

    def list_registries(self) -> Sequence[Registry]:
        return self._registries(None)

    def registry_for(self, code: str, client_id: str) -> Registry | None:
        rows = self._c.execute(_REGISTRY_FOR, {"code": code, "client_id": client_id}).all()
        if not rows:
            return None
        first = rows[0]
        self._operations[(first.id, client_id)] = frozenset(
            Operation(r.operation) for r in rows if r.operation is not None
        )
        published = _DEFINITIONS.get(first.definition_hash)
        if published is None:
            published = self._versions(first.id)
            _DEFINITIONS[first.definition_hash] = published
            while len(_DEFINITIONS) > 256:
                _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
        return self._remember(
            Registry(
                first.id, first.code, first.name, first.description, first.created_at, published
            )
        )

    def _versions(self, registry_id: int) -> tuple[RegistryVersion, ...]:
        rows = self._c.execute(
            select(versions)
            .where(versions.c.registry_id == registry_id)
            .order_by(versions.c.ordinal)
        )
        return tuple(RegistryVersion(v.version, v.schema, v.created_at, v.created_by) for v in rows)

    def add_registry(
        self, *, code: str, name: str, description: str, created_at: datetime
    ) -> int | None:
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            dialect_insert(registries)
            .values(
                code=code,
                name=name,
                description=description,
                created_at=created_at,
                head_sequence=0,
                head_hash=GENESIS,
                definition_hash="0" * 64,
            )
            .on_conflict_do_nothing()
            .returning(registries.c.id)
        )
        row = self._c.execute(statement).first()
        if row is None:
            return None
        # the registry's disclosure chain starts empty too
        self._c.execute(
            insert(disclosure_heads).values(registry_id=row.id, sequence=0, hash=GENESIS)
        )
        return int(row.id)

    def add_version(self, registry_id: int, version: RegistryVersion) -> bool:
        ordinal = self._c.execute(
            select(func.count()).where(versions.c.registry_id == registry_id)
        ).scalar_one()
        exists = self._c.execute(
            select(versions.c.version).where(
                versions.c.registry_id == registry_id, versions.c.version == version.version
            )
        ).first()
        if exists:
            return False
        self._slots.pop(registry_id, None)  # the new version's slots are read when next needed
        self._c.execute(
            insert(versions).values(
                registry_id=registry_id,
                version=version.version,
                ordinal=ordinal + 1,
                schema=version.schema_text,
                created_at=version.created_at,
                created_by=version.created_by,
            )
        )
        previous = self._c.execute(
            select(registries.c.definition_hash).where(registries.c.id == registry_id)
        ).scalar_one()
        digest = hashlib.sha256(
            f"{previous}\n{version.version}\n{version.created_at.isoformat()}\n"
            f"{version.created_by}\n{version.schema_text}".encode()
        ).hexdigest()
        self._c.execute(
            update(registries).where(registries.c.id == registry_id).values(definition_hash=digest)
        )
        return True

    # --- rights ---------------------------------------------------------------------------

    def operations_of(self, registry_id: int, client_id: str) -> frozenset[Operation]:
        known = self._operations.get((registry_id, client_id))
        if known is not None:
            return known
        rows = self._c.execute(
            select(rights.c.operation).where(
                rights.c.registry_id == registry_id, rights.c.client_id == client_id
            )
        )
        return frozenset(Operation(r.operation) for r in rows)

    def add_right(self, registry_id: int, right: Right) -> bool:
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            dialect_insert(rights)
            .values(
                registry_id=registry_id,
                client_id=right.client_id,
                operation=str(right.operation),
                granted_at=right.granted_at,
            )
            .on_conflict_do_nothing()
            .returning(rights.c.operation)
        )
        return self._c.execute(statement).first() is not None

    def remove_right(self, registry_id: int, client_id: str, operation: Operation) -> bool:
        result = self._c.execute(
            delete(rights).where(
                rights.c.registry_id == registry_id,
                rights.c.client_id == client_id,
                rights.c.operation == str(operation),
            )
        )
        return result.rowcount == 1

    def rights(self, registry_id: int) -> Sequence[Right]:
        code = self._code(registry_id)
        rows = self._c.execute(
            select(rights)
            .where(rights.c.registry_id == registry_id)
            .order_by(rights.c.client_id, rights.c.operation)
        )
        return [Right(code, r.client_id, Operation(r.operation), r.granted_at) for r in rows]
