"""What the registries need from outside: their store, inside a unit of work with the audit
trail. The store is only ever called inside one unit of work (one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import NamedTuple, Protocol

from baobab.kernel.audit import AuditTrail
from baobab.registries.domain import (
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


class RecordRow(NamedTuple):
    """A record's current state as stored: its data is that of revision ``revision_seq``."""

    record_id: str
    version: int
    schema_version: str
    revision_seq: int
    deleted: bool
    created_at: datetime
    updated_at: datetime


class RevisionRow(NamedTuple):
    """A revision as stored, its record already serialised to canonical JSON (or ``None``)."""

    sequence: int
    record_id: str
    record_version: int
    change: str
    schema_version: str
    data_text: str | None
    actor: str
    at: str
    reason: str
    previous_hash: str
    hash: str


class IndexEntry(NamedTuple):
    record_id: str
    field: str
    value: str


class NewRecord(NamedTuple):
    """A record written for the first time, with the encoded value of its indexed fields in
    their slots (:meth:`RegistrySchema.slot_values`)."""

    row: RecordRow
    slots: tuple[str | None, ...]


@dataclass
class WriteBatch:
    """Everything one change (or one slice of an import) writes, applied together. The index
    entries are those of changed records; a new record carries its own (``slots``)."""

    new_records: list[NewRecord] = field(default_factory=list)
    changed_records: list[RecordRow] = field(default_factory=list)
    revisions: list[RevisionRow] = field(default_factory=list)
    index_added: list[IndexEntry] = field(default_factory=list)
    index_removed: list[IndexEntry] = field(default_factory=list)


class RegistryStore(Protocol):
    """Registries, versions, rights, records, revisions, index and disclosures."""

    def get_registry(self, code: str) -> Registry | None: ...

    def registry_for(self, code: str, client_id: str) -> Registry | None:
        """``get_registry``, and the client's operations on it, remembered for this unit of
        work so that ``operations_of`` asks nothing more (one round trip on the hot path)."""
        ...

    def list_registries(self) -> Sequence[Registry]: ...

    def add_registry(
        self, *, code: str, name: str, description: str, created_at: datetime
    ) -> int | None:
        """Record a new registry and return its id; None if the code is taken."""
        ...

    def add_version(self, registry_id: int, version: RegistryVersion) -> bool:
        """Publish a version; False if it exists."""
        ...

    def operations_of(self, registry_id: int, client_id: str) -> frozenset[Operation]: ...

    def add_right(self, registry_id: int, right: Right) -> bool: ...

    def remove_right(self, registry_id: int, client_id: str, operation: Operation) -> bool: ...

    def rights(self, registry_id: int) -> Sequence[Right]: ...

    def lock_chain(self, registry_id: int) -> tuple[int, str]:
        """The chain head (sequence, hash), locked against other writers until the unit ends."""
        ...

    def advance_chain(self, registry_id: int, sequence: int, hash: str) -> None: ...

    def chain_head(self, registry_id: int) -> tuple[int, str]: ...

    def get_record(self, registry_id: int, record_id: str) -> Record | None:
        """The record, deleted or not; None if it never existed."""
        ...

    def live_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` name records that exist and are not deleted."""
        ...

    def known_ids(self, registry_id: int, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` were ever used, deleted or not (ids are never reused)."""
        ...

    def taken(self, registry_id: int, field: str, values: Collection[str]) -> dict[str, str]:
        """Values of the indexed field ``field`` held by live records: value -> record id.
        Asked under the registry's chain head, which every writer holds, it stays true until
        the unit ends: that is what keeps a unique field unique."""
        ...

    def search(self, registry_id: int, query: SearchQuery, *, count: bool = True) -> Page: ...

    def exists(self, registry_id: int, query: SearchQuery) -> bool: ...

    def write(self, registry_id: int, batch: WriteBatch) -> None: ...

    def iter_records(self, registry_id: int) -> Generator[Record, None, None]:
        """Every live record, in id order."""
        ...

    def iter_record_heads(self, registry_id: int) -> Generator[RecordRow, None, None]:
        """Every record row, deleted or not, as stored."""
        ...

    def refresh_statistics(self) -> None:
        """Let the query planner see the data after a bulk load (index choice depends on it)."""
        ...

    def replace_index(self, registry_id: int, index: Sequence[IndexEntry]) -> None:
        """Drop every index entry of the registry and store these instead; called once the
        version that changed what is indexed is published."""
        ...

    def revisions(
        self, registry_id: int, *, after: int = 0, limit: int = 100, record_id: str | None = None
    ) -> Sequence[Revision]: ...

    def iter_revisions(self, registry_id: int) -> Generator[Revision, None, None]:
        """Every revision of the registry in chain order."""
        ...

    def log_disclosures(
        self, registry_id: int, disclosures: Sequence[Disclosure]
    ) -> Sequence[Disclosure]:
        """Append ``disclosures`` to the registry's disclosure chain (its head locked against
        other writers until the entries are stored) and return them as chained. Durable before
        it returns, also in a reading unit of work."""
        ...

    def disclosures(
        self, registry_id: int, *, record_id: str | None, after: int, limit: int
    ) -> Sequence[Disclosure]:
        """Disclosures in chain order; ``after`` is the sequence of the last one already seen."""
        ...

    def iter_disclosures(self, registry_id: int) -> Generator[Disclosure, None, None]:
        """Every disclosure of the registry in chain order."""
        ...

    def disclosure_head(self, registry_id: int) -> tuple[int, str]: ...


class RegistriesUnitOfWork(Protocol):
    """One transaction over the store and the audit trail: commits on exit unless it raised."""

    @property
    def store(self) -> RegistryStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def reading(self) -> RegistriesUnitOfWork:
        """Mark this unit as a read: it changes nothing but the disclosure log, so it may run
        without a transaction around it (fewer round trips to the database)."""
        ...

    def __enter__(self) -> RegistriesUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], RegistriesUnitOfWork]
