"""Bulk import and export of records.

An import runs in one unit of work holding the registry's chain head, so nobody writes to the
registry meanwhile. Every row is checked (schema, duplicate ids and unique values within the file
and against the registry, references); rows are written in slices as they pass. All-or-nothing
(the default) keeps checking after the first bad row, to report every one, and then rolls the
whole import back; ``all_or_nothing=False`` imports the good rows and reports the rest.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from baobab.kernel.audit import AuditEvent
from baobab.registries.domain import (
    Caller,
    Change,
    ImportReport,
    Operation,
    Record,
    Registry,
    RevisionHasher,
    Violation,
)
from baobab.registries.errors import ImportRejected
from baobab.registries.formats import Row
from baobab.registries.jsontext import canonical_bytes
from baobab.registries.ports import (
    NewRecord,
    RecordRow,
    RegistriesUnitOfWork,
    RevisionRow,
    WriteBatch,
)
from baobab.registries.rules import registry_named, writable_schema
from baobab.registries.schema import (
    RegistrySchema,
    compile_schema,
    encode_value,
    identity_token_ok,
)
from baobab.registries.services import RegistryService

Progress = Callable[[int], None]
Pending = tuple[int, dict[str, Any], bytes | None]  # row number, record, its canonical JSON
ANALYSE_AFTER = 1000  # records; a bigger load changes which index plans are best


class _Import:
    """The state of one running import."""

    def __init__(
        self,
        service: RegistryService,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        schema: RegistrySchema,
        *,
        caller: Caller,
        reason: str,
        all_or_nothing: bool,
    ) -> None:
        self.s = service
        self.uow = uow
        self.registry = registry
        self.schema = schema
        self.actor = caller.actor
        self.reason = reason
        self.all_or_nothing = all_or_nothing
        self.report = ImportReport()
        self.sequence, self.previous = uow.store.lock_chain(registry.id)
        self.empty = self.sequence == 0  # no record ever: nothing in the registry to clash with
        self.seen_ids: set[str] = set()
        self.seen_unique: set[tuple[str, str]] = set()
        self.pending: list[Pending] = []
        self.references = [
            (spec.name, registry_named(uow.store, spec.reference_registry).id)
            for spec in schema.references
            if spec.reference_registry is not None
        ]
        self.tokens = [spec.name for spec in schema.fields.values() if spec.identity_token]
        self.version = registry.current.version
        self.at = service._clock.now()

    def reject(self, violations: Iterable[Violation]) -> None:
        self.report.violations.extend(violations)
        self.report.rejected_rows += 1

    def take(self, row: Row) -> None:
        report = self.report
        report.rows += 1
        number, data, violations, encoded = row
        if violations:
            self.reject(violations)
            return
        schema = self.schema
        if data.get(schema.id_field) is None:
            data[schema.id_field] = self.s._ids()
            encoded = None  # the record changed since it was read
        problems = schema.validate(data)
        if problems:
            problems = [Violation(v.field, v.reason, number) for v in problems]
        record_id = str(data[schema.id_field])
        if record_id in self.seen_ids:
            problems.append(Violation(schema.id_field, "appears twice in the file", number))
        for field in self.tokens:
            value = data.get(field)
            if value is not None and not identity_token_ok(str(value)):
                problems.append(Violation(field, "must be an identity token", number))
        unique = schema.unique_entries(data)
        seen_unique = self.seen_unique
        for entry in unique:
            if entry in seen_unique:
                problems.append(Violation(entry[0], "value appears twice in the file", number))
        if problems:
            self.reject(problems)
            return
        self.seen_ids.add(record_id)
        seen_unique.update(unique)
        self.pending.append((number, data, encoded))

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        bad = self._against_store(pending)
        if bad:
            pending = [entry for entry in pending if entry[0] not in bad]
        if self.all_or_nothing and self.report.violations:
            return  # keep checking to report every bad row; nothing will be written
        self._write(pending)

    def _against_store(self, pending: list[Pending]) -> set[int]:
        store, registry, schema = self.uow.store, self.registry, self.schema
        bad: dict[int, list[Violation]] = {}
        if not self.empty:
            ids = {str(d[schema.id_field]): n for n, d, _ in pending}
            for taken in store.known_ids(registry.id, list(ids)):
                bad.setdefault(ids[taken], []).append(
                    Violation(schema.id_field, "exists in the registry", ids[taken])
                )
            for spec in schema.unique:
                encoded = {
                    encode_value(spec, d[spec.name]): n
                    for n, d, _ in pending
                    if d.get(spec.name) is not None
                }
                for value in store.taken(registry.id, spec.name, list(encoded)):
                    n = encoded[value]
                    bad.setdefault(n, []).append(
                        Violation(spec.name, "value held by another record", n)
                    )
        for field, target in self.references:
            wanted = {str(d[field]) for _, d, _ in pending if d.get(field) is not None}
            live = store.live_ids(target, list(wanted)) if wanted else set()
            for n, d, _ in pending:
                if d.get(field) is not None and str(d[field]) not in live:
                    bad.setdefault(n, []).append(
                        Violation(field, f"no record {d[field]!r} there", n)
                    )
        for problems in bad.values():
            self.reject(problems)
        return set(bad)

    def _write(self, pending: list[Pending]) -> None:
        schema, registry = self.schema, self.registry
        batch = WriteBatch()
        sequence, previous = self.sequence, self.previous
        actor, reason, version = self.actor, self.reason, self.version
        at, now = self.at.isoformat(), self.at
        create = str(Change.CREATE)
        link = RevisionHasher(
            registry=registry.code,
            change=create,
            schema_version=version,
            actor=actor,
            at=at,
            reason=reason,
        ).hash
        id_field, slot_values = schema.id_field, schema.slot_values
        revisions, new_records = batch.revisions, batch.new_records
        for _, data, read_as in pending:
            sequence += 1
            record_id = str(data[id_field])
            encoded = canonical_bytes(data) if read_as is None else read_as
            digest = link(
                previous, sequence=sequence, record_id=record_id, record_version=1, data=encoded
            )
            revisions.append(
                RevisionRow(
                    sequence,
                    record_id,
                    1,
                    create,
                    version,
                    encoded.decode(),
                    actor,
                    at,
                    reason,
                    previous,
                    digest,
                )
            )
            new_records.append(
                NewRecord(
                    RecordRow(record_id, 1, version, sequence, False, now, now), slot_values(data)
                )
            )
            previous = digest
        self.uow.store.write(registry.id, batch)
        self.sequence, self.previous = sequence, previous
        self.report.imported += len(pending)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk import, as ``timeit`` does. Each slice
    holds thousands of parsed records; the collector would trace them again and again as they
    age through its generations (a tenth of the import's CPU), while every one of them is freed
    by reference counting when its slice is written. It runs again, as it was, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_records(
    service: RegistryService,
    caller: Caller,
    code: str,
    version: str,
    rows: Iterable[Row],
    *,
    all_or_nothing: bool = True,
    reason: str = "bulk import",
    progress: Progress | None = None,
    slice_size: int = 5000,
) -> ImportReport:
    """Import new records from parsed file rows; returns the report. In all-or-nothing mode a
    file with any bad row raises :class:`ImportRejected` carrying the report, and nothing is
    imported."""
    with _collector_paused(), service._unit(caller, code) as (uow, registry):
        service._allowed(uow, registry, caller, Operation.CREATE)
        job = _Import(
            service,
            uow,
            registry,
            writable_schema(registry, version),
            caller=caller,
            reason=reason,
            all_or_nothing=all_or_nothing,
        )
        for row in rows:
            job.take(row)
            if len(job.pending) >= slice_size:
                job.flush()
                if progress:
                    progress(job.report.rows)
        job.flush()
        if progress:
            progress(job.report.rows)
        report = job.report
        if report.violations and all_or_nothing:
            raise ImportRejected(
                f"{report.rejected_rows} of {report.rows} rows are bad; nothing was imported",
                extra={"report": report.as_dict(limit=100)},
            )
        uow.store.advance_chain(registry.id, job.sequence, job.previous)
        if report.imported >= ANALYSE_AFTER:
            uow.store.refresh_statistics()
        uow.audit.append(
            AuditEvent(
                "registries.imported",
                caller.actor,
                code,
                details={"imported": str(report.imported), "rejected": str(report.rejected_rows)},
            ),
            at=service._clock.now(),
        )
        return report


def export_records(
    service: RegistryService,
    caller: Caller,
    code: str,
    version: str,
    sink: Callable[[Mapping[str, Any]], None],
) -> int:
    """Hand every live record, as the caller may see it through ``version``, to ``sink``;
    personal fields shown are logged as disclosures. Returns the number of records."""
    with service._unit(caller, code) as (uow, registry):
        allowed = service._allowed(uow, registry, caller, Operation.READ)
        schema = _readable_schema(registry, version)
        count = 0
        chunk: list[Record] = []

        def drain() -> None:
            for record in service._reveal(
                uow, registry, schema, caller, allowed=allowed, records=chunk, operation="export"
            ):
                sink(record.data)

        for record in uow.store.iter_records(registry.id):
            chunk.append(record)
            count += 1
            if len(chunk) >= 1000:
                drain()
                chunk.clear()
        drain()
        return count


def _readable_schema(registry: Registry, version: str) -> RegistrySchema:
    return compile_schema(registry.version(version).schema_text)


def iter_rows(records: Iterable[Mapping[str, Any]]) -> Iterator[Row]:
    """Records already in memory as import rows (numbered from 1)."""
    for number, data in enumerate(records, start=1):
        yield Row(number, dict(data))
