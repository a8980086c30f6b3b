"""Hand-written in-memory fakes of the registries' ports, with real rollback on error."""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from baobab.kernel.audit import AuditEvent
from baobab.kernel.hashchain import GENESIS
from baobab.registries.disclosure_chain import chain_disclosures
from baobab.registries.domain import (
    Change,
    Disclosure,
    Operation,
    Page,
    Record,
    Registry,
    RegistryVersion,
    Revision,
    Right,
    SearchQuery,
)
from baobab.registries.ports import IndexEntry, RecordRow, RevisionRow, WriteBatch
from baobab.registries.schema import compile_schema


@dataclass
class _Registry:
    id: int
    code: str
    name: str
    description: str
    created_at: datetime
    versions: list[RegistryVersion] = field(default_factory=list)
    head: tuple[int, str] = (0, GENESIS)


@dataclass
class _State:
    registries: dict[str, _Registry] = field(default_factory=dict)
    rights: dict[tuple[int, str, Operation], Right] = field(default_factory=dict)
    records: dict[tuple[int, str], RecordRow] = field(default_factory=dict)
    revisions: dict[int, list[RevisionRow]] = field(default_factory=dict)
    index: dict[tuple[int, str, str], str] = field(default_factory=dict)  # -> value
    disclosures: list[tuple[int, Disclosure]] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    analysed: bool = False


class FakeStore:
    def __init__(self, state: _State) -> None:
        self.s = state

    def _by_id(self, registry_id: int) -> _Registry:
        return next(r for r in self.s.registries.values() if r.id == registry_id)

    def get_registry(self, code: str) -> Registry | None:
        r = self.s.registries.get(code)
        if r is None or not r.versions:
            return None
        return Registry(r.id, r.code, r.name, r.description, r.created_at, tuple(r.versions))

    def registry_for(self, code: str, client_id: str) -> Registry | None:
        return self.get_registry(code)

    def list_registries(self) -> Sequence[Registry]:
        return [
            found
            for code in sorted(self.s.registries)
            if (found := self.get_registry(code)) is not None
        ]

    def add_registry(
        self, *, code: str, name: str, description: str, created_at: datetime
    ) -> int | None:
        if code in self.s.registries:
            return None
        new = _Registry(len(self.s.registries) + 1, code, name, description, created_at)
        self.s.registries[code] = new
        return new.id

    def add_version(self, registry_id: int, version: RegistryVersion) -> bool:
        registry = self._by_id(registry_id)
        if any(v.version == version.version for v in registry.versions):
            return False
        registry.versions.append(version)
        return True

    def operations_of(self, registry_id: int, client_id: str) -> frozenset[Operation]:
        return frozenset(
            op for (rid, c, op) in self.s.rights if rid == registry_id and c == client_id
        )

    def add_right(self, registry_id: int, right: Right) -> bool:
        key = (registry_id, right.client_id, right.operation)
        if key in self.s.rights:
            return False
        self.s.rights[key] = right
        return True

    def remove_right(self, registry_id: int, client_id: str, operation: Operation) -> bool:
        return self.s.rights.pop((registry_id, client_id, operation), None) is not None

    def rights(self, registry_id: int) -> Sequence[Right]:
        return [r for (rid, _, _), r in sorted(self.s.rights.items()) if rid == registry_id]

    def lock_chain(self, registry_id: int) -> tuple[int, str]:
        return self._by_id(registry_id).head

    def advance_chain(self, registry_id: int, sequence: int, hash: str) -> None:
        self._by_id(registry_id).head = (sequence, hash)

    def chain_head(self, registry_id: int) -> tuple[int, str]:
        return self._by_id(registry_id).head

    def _record(self, registry_id: int, row: RecordRow) -> Record:
        revision = next(r for r in self.s.revisions[registry_id] if r.sequence == row.revision_seq)
        data = json.loads(revision.data_text) if revision.data_text else {}
        return Record(
            row.record_id,
            row.version,
            row.schema_version,
            data,
            row.deleted,
            row.created_at,
            row.updated_at,
        )

    def get_record(self, registry_id: int, record_id: str) -> Record | None:
        row = self.s.records.get((registry_id, record_id))
        return self._record(registry_id, row) if row else None

    def live_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        return {
            i
            for i in ids
            if (row := self.s.records.get((registry_id, i))) is not None and not row.deleted
        }

    def known_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        return {i for i in ids if (registry_id, i) in self.s.records}

    def taken(self, registry_id: int, field: str, values: Collection[str]) -> dict[str, str]:
        wanted = set(values)
        return {
            value: record_id
            for (rid, record_id, name), value in self.s.index.items()
            if rid == registry_id and name == field and value in wanted
        }

    def _matches(self, registry_id: int, query: SearchQuery) -> list[RecordRow]:
        out = []
        for (rid, record_id), row in self.s.records.items():
            if rid != registry_id or row.deleted:
                continue
            if query.record_id is not None and record_id != query.record_id:
                continue
            if all(self.s.index.get((rid, record_id, f.field)) == f.value for f in query.filters):
                out.append(row)
        return out

    def search(self, registry_id: int, query: SearchQuery, *, count: bool = True) -> Page:
        rows = sorted(self._matches(registry_id, query), key=lambda r: r.record_id)
        if query.descending:
            rows.reverse()
        if query.sort_field is not None:

            def key(row: RecordRow) -> tuple[bool, str]:
                value = self.s.index.get((registry_id, row.record_id, query.sort_field or ""))
                return (value is None, value or "")

            with_value = [r for r in rows if key(r)[0] is False]
            without = [r for r in rows if key(r)[0] is True]
            with_value.sort(key=key, reverse=query.descending)
            rows = with_value + without
        page = rows[query.offset : query.offset + query.limit]
        return Page(len(rows), [self._record(registry_id, r) for r in page])

    def exists(self, registry_id: int, query: SearchQuery) -> bool:
        return bool(self._matches(registry_id, query))

    def write(self, registry_id: int, batch: WriteBatch) -> None:
        self.s.revisions.setdefault(registry_id, []).extend(batch.revisions)
        for row in [*(new.row for new in batch.new_records), *batch.changed_records]:
            self.s.records[(registry_id, row.record_id)] = row
        if batch.new_records:
            current = self._by_id(registry_id).versions[-1].schema_text
            in_slot = {slot: name for name, slot in compile_schema(current).index_slots.items()}
            for row, values in batch.new_records:
                for slot, value in enumerate(values, 1):
                    if value is not None:
                        self.s.index[(registry_id, row.record_id, in_slot[slot])] = value
        for e in batch.index_removed:
            self.s.index.pop((registry_id, e.record_id, e.field), None)
        for e in batch.index_added:
            self.s.index[(registry_id, e.record_id, e.field)] = e.value

    def iter_records(self, registry_id: int) -> Generator[Record, None, None]:
        for (rid, _), row in sorted(self.s.records.items()):
            if rid == registry_id and not row.deleted:
                yield self._record(registry_id, row)

    def iter_record_heads(self, registry_id: int) -> Generator[RecordRow, None, None]:
        yield from (row for (rid, _), row in self.s.records.items() if rid == registry_id)

    def refresh_statistics(self) -> None:
        self.s.analysed = True

    def replace_index(self, registry_id: int, index: Sequence[IndexEntry]) -> None:
        self.s.index = {k: v for k, v in self.s.index.items() if k[0] != registry_id}
        for e in index:
            self.s.index[(registry_id, e.record_id, e.field)] = e.value

    def _revision(self, registry_id: int, r: RevisionRow) -> Revision:
        return Revision(
            self._by_id(registry_id).code,
            r.sequence,
            r.record_id,
            r.record_version,
            Change(r.change),
            r.schema_version,
            json.loads(r.data_text) if r.data_text is not None else None,
            r.actor,
            r.at,
            r.reason,
            r.previous_hash,
            r.hash,
        )

    def revisions(
        self, registry_id: int, *, after: int = 0, limit: int = 100, record_id: str | None = None
    ) -> Sequence[Revision]:
        rows = [
            r
            for r in self.s.revisions.get(registry_id, [])
            if r.sequence > after and (record_id is None or r.record_id == record_id)
        ]
        return [self._revision(registry_id, r) for r in rows[:limit]]

    def iter_revisions(self, registry_id: int) -> Generator[Revision, None, None]:
        for r in self.s.revisions.get(registry_id, []):
            yield self._revision(registry_id, r)

    def log_disclosures(
        self, registry_id: int, disclosures: Sequence[Disclosure]
    ) -> Sequence[Disclosure]:
        chained = chain_disclosures(self.disclosure_head(registry_id), disclosures)
        self.s.disclosures.extend((registry_id, d) for d in chained)
        return chained

    def disclosures(
        self, registry_id: int, *, record_id: str | None, after: int, limit: int
    ) -> Sequence[Disclosure]:
        found = [
            d
            for rid, d in self.s.disclosures
            if rid == registry_id
            and (record_id is None or d.record_id == record_id)
            and d.sequence > after
        ]
        return found[:limit]

    def iter_disclosures(self, registry_id: int) -> Generator[Disclosure, None, None]:
        yield from (d for rid, d in self.s.disclosures if rid == registry_id)

    def disclosure_head(self, registry_id: int) -> tuple[int, str]:
        mine = [d for rid, d in self.s.disclosures if rid == registry_id]
        return (mine[-1].sequence, mine[-1].hash) if mine else (0, GENESIS)


class FakeAudit:
    def __init__(self, state: _State) -> None:
        self.s = state

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.s.audit.append(event)


class FakeUnitOfWork:
    """Works on a copy of the committed state; the copy becomes the state only on success."""

    def __init__(self, world: FakeRegistries) -> None:
        self._world = world

    def reading(self) -> FakeUnitOfWork:
        return self

    def __enter__(self) -> FakeUnitOfWork:
        self._draft = copy.deepcopy(self._world.state)
        self.store = FakeStore(self._draft)
        self.audit = FakeAudit(self._draft)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._world.state = self._draft


class FakeRegistries:
    """The committed state and a unit-of-work factory over it."""

    def __init__(self) -> None:
        self.state = _State()

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def actions(self) -> list[str]:
        return [event.action for event in self.state.audit]
