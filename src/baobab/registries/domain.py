"""The registries' model: registries and their versions, records, revisions chained by hash,
access rights per registry and operation, and the disclosures of personal data. (The errors
are in :mod:`baobab.registries.errors`.)

A record's history is a chain of revisions per registry: each revision commits to the one before
it with SHA-256 (:mod:`baobab.kernel.hashchain`), so a changed, removed or reordered revision —
and with it the current state of any record, which is read from its newest revision — is detected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from hashlib import sha256
from typing import Any

from baobab.registries.errors import InvalidDefinition, UnknownVersion
from baobab.registries.jsontext import quoted

# --- identifiers ----------------------------------------------------------------------------

_CODE = re.compile(r"[a-z][a-z0-9-]{1,62}")
_VERSION = re.compile(r"\d{1,6}(\.\d{1,6}){0,2}")


def check_code(code: str) -> str:
    """A registry code: 2-63 lowercase letters, digits and '-', starting with a letter."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidDefinition(
            f"a registry code is 2-63 lowercase letters, digits or '-', got {code!r}"
        )
    return code


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10"`` -> ``(1, 10)``: versions compare as numbers, part by part."""
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise InvalidDefinition(f"a version is like 1, 1.0 or 1.2.3, got {version!r}")
    return tuple(int(p) for p in version.split("."))


# --- access ---------------------------------------------------------------------------------


class Operation(StrEnum):
    """What a subsystem may do with one registry. Everything not granted is denied."""

    READ = "read"  # read, search, exists, read-value of fields that are not personal
    PERSONAL = "personal"  # also see (and filter on) personal fields; every such read is logged
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    HISTORY = "history"  # revisions, disclosures log and chain verification

    @classmethod
    def parse_all(cls, values: Sequence[str]) -> frozenset[Operation]:
        try:
            return frozenset(cls(v) for v in values)
        except ValueError as exc:
            allowed = ", ".join(o.value for o in cls)
            raise InvalidDefinition(f"operations must be among: {allowed}") from exc


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts: a subsystem's client id, or an operator at the console (``unrestricted``)."""

    actor: str
    unrestricted: bool = False


@dataclass(frozen=True, slots=True)
class Right:
    """``client_id`` may do ``operation`` on registry ``registry``."""

    registry: str
    client_id: str
    operation: Operation
    granted_at: datetime


# --- registries -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryVersion:
    """One published schema of a registry; immutable once published."""

    version: str
    schema_text: str  # canonical JSON of the schema document
    created_at: datetime
    created_by: str

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.schema_text)
        return loaded


@dataclass(frozen=True, slots=True)
class Registry:
    """A registry: its code, its published versions (oldest first) and its chain head."""

    id: int
    code: str
    name: str
    description: str
    created_at: datetime
    versions: tuple[RegistryVersion, ...]

    @property
    def current(self) -> RegistryVersion:
        return self.versions[-1]

    def version(self, version: str) -> RegistryVersion:
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        raise UnknownVersion(
            f"registry {self.code!r} has no version {version!r}",
            extra={"versions": [v.version for v in self.versions]},
        )


# --- records and revisions ------------------------------------------------------------------


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Record:
    """The current state of one record. ``version`` counts its changes from 1."""

    record_id: str
    version: int
    schema_version: str
    data: Mapping[str, Any]
    deleted: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Revision:
    """One change of one record, a link of its registry's hash chain.

    ``data`` is the whole record after the change (``None`` for a deletion); ``at`` is kept as
    ISO 8601 text because it is hashed as such.
    """

    registry: str
    sequence: int
    record_id: str
    record_version: int
    change: Change
    schema_version: str
    data: Mapping[str, Any] | None
    actor: str
    at: str
    reason: str
    previous_hash: str
    hash: str

    def payload(self) -> dict[str, Any]:
        return revision_payload(
            registry=self.registry,
            sequence=self.sequence,
            record_id=self.record_id,
            record_version=self.record_version,
            change=self.change,
            schema_version=self.schema_version,
            data=self.data,
            actor=self.actor,
            at=self.at,
            reason=self.reason,
        )


def revision_payload(
    *,
    registry: str,
    sequence: int,
    record_id: str,
    record_version: int,
    change: str,
    schema_version: str,
    data: Mapping[str, Any] | None,
    actor: str,
    at: str,
    reason: str,
) -> dict[str, Any]:
    """What a revision's hash commits to."""
    return {
        "registry": registry,
        "sequence": sequence,
        "record_id": record_id,
        "record_version": record_version,
        "operation": str(change),
        "schema_version": schema_version,
        "data": None if data is None else dict(data),
        "actor": actor,
        "at": at,
        "reason": reason,
    }


class RevisionHasher:
    """Computes ``link_hash(previous, revision_payload(...))`` for many revisions that share
    registry, change, schema version, actor, time and reason (one import, one change), around
    the already-serialised record, so a bulk import serialises each record once. The JSON is
    assembled in sorted key order exactly as :func:`baobab.kernel.hashchain.canonical_json`
    would write it; the verification path recomputes with the kernel and proves it."""

    def __init__(
        self, *, registry: str, change: str, schema_version: str, actor: str, at: str, reason: str
    ) -> None:
        self._head = f'{{"actor":{quoted(actor)},"at":{quoted(at)},"data":'.encode()
        self._middle = (
            f',"operation":{quoted(str(change))},"reason":{quoted(reason)},"record_id":'
        ).encode()
        self._tail = (
            f',"registry":{quoted(registry)},"schema_version":{quoted(schema_version)},'
        ).encode()

    def hash(
        self, previous: str, *, sequence: int, record_id: str, record_version: int, data: bytes
    ) -> str:
        """The hash of the revision after ``previous``; ``data`` is the record's canonical
        JSON (:func:`canonical_bytes`), or ``b"null"`` for a deletion."""
        return sha256(
            b"".join(
                (
                    bytes.fromhex(previous),
                    self._head,
                    data,
                    self._middle,
                    quoted(record_id).encode(),
                    b',"record_version":%d' % record_version,
                    self._tail,
                    b'"sequence":%d}' % sequence,
                )
            )
        ).hexdigest()


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a record or an import row was refused. ``row`` is 1-based, data rows only."""

    field: str
    reason: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "reason": self.reason}
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass(frozen=True, slots=True)
class Filter:
    """``field`` equals ``value`` (already encoded for the index)."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Filters (all must hold), an optional indexed sort field, and a page."""

    filters: tuple[Filter, ...] = ()
    record_id: str | None = None
    sort_field: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Page:
    """One page of search results and the count of every match."""

    count: int
    records: Sequence[Record]


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A read of personal fields of one record: who, when, which fields, through what.

    Disclosures of a registry form a hash chain of their own, like its revisions: ``sequence``
    counts from 1 and ``hash`` commits to the entry and to ``previous_hash``. An entry not yet
    appended to the chain has sequence 0 and empty hashes."""

    id: str
    registry: str
    record_id: str
    actor: str
    at: datetime
    operation: str
    fields: tuple[str, ...]
    sequence: int = 0
    previous_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of re-computing a registry's chain."""

    registry: str
    revisions: int
    intact: bool
    first_broken: int | None = None  # a revision
    reason: str | None = None
    disclosures: int = 0
    first_broken_disclosure: int | None = None


@dataclass
class ImportReport:
    """What a bulk import did: rows read, rows imported and every violation found."""

    rows: int = 0
    imported: int = 0
    violations: list[Violation] = field(default_factory=list)
    rejected_rows: int = 0

    def as_dict(self, limit: int = 1000) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "rejected_rows": self.rejected_rows,
            "violations": [v.as_dict() for v in self.violations[:limit]],
            "violations_total": len(self.violations),
        }
