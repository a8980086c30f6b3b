"""Record writes: create, update (a merge patch), update-or-create and soft delete, each a
revision in the registry's hash chain.

Every write takes the registry's chain head first, so writers to one registry line up and each
sees the state the previous one committed; a stale version number is then refused, never
silently overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baobab.kernel.errors import InvalidInput
from baobab.registries.domain import (
    Caller,
    Change,
    Operation,
    Record,
    Registry,
    RevisionHasher,
)
from baobab.registries.errors import (
    BrokenReference,
    DuplicateRecord,
    ReasonRequired,
    SchemaViolation,
    UniqueViolation,
    UnknownRecord,
    VersionRequired,
)
from baobab.registries.jsontext import canonical_bytes
from baobab.registries.ports import (
    IndexEntry,
    NewRecord,
    RecordRow,
    RegistriesUnitOfWork,
    RegistryStore,
    RevisionRow,
    WriteBatch,
)
from baobab.registries.rules import (
    check_version,
    merge_patch,
    registry_named,
    schema_version,
    writable_schema,
)
from baobab.registries.schema import (
    RegistrySchema,
    identity_token_ok,
)
from baobab.registries.units import MAX_REPORTED, UseCases


class WriteUseCases(UseCases):
    """Changes to records, checked against the schema, the index and references."""

    def create(
        self,
        caller: Caller,
        code: str,
        version: str,
        content: Mapping[str, Any],
        *,
        reason: str = "",
    ) -> Record:
        """Create a record; its id comes from the content or is generated."""
        with self._unit(caller, code) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.CREATE)
            schema = writable_schema(registry, version)
            head = uow.store.lock_chain(registry.id)
            record = self._apply(
                uow,
                registry,
                schema,
                caller,
                before=None,
                data=dict(content),
                reason=reason,
                head=head,
            )
            # the caller just wrote these values: echoing them back discloses nothing new
            return self._reveal(
                uow, registry, schema, caller, allowed=allowed, records=[record], operation=None
            )[0]

    def update(
        self,
        caller: Caller,
        code: str,
        version: str,
        query: Mapping[str, Any],
        content: Mapping[str, Any],
        *,
        expected_version: int | None,
        reason: str = "",
    ) -> Record:
        """Merge ``content`` into the one record ``query`` finds (RFC 7396: null removes a field).
        ``expected_version`` is the version the caller read; a newer one is refused."""
        if expected_version is None:
            raise VersionRequired('send the version of the record you read ("version")')
        with self._unit(caller, code) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.UPDATE)
            schema = writable_schema(registry, version)
            head = uow.store.lock_chain(registry.id)
            before = self._find_one(uow, registry, schema, allowed, query)
            if before is None:
                raise UnknownRecord("no record matches the query")
            check_version(before, expected_version)
            merged = merge_patch(before.data, content, schema.id_field)
            record = self._apply(
                uow, registry, schema, caller, before=before, data=merged, reason=reason, head=head
            )
            return self._reveal(
                uow, registry, schema, caller, allowed=allowed, records=[record], operation="update"
            )[0]

    def update_or_create(
        self,
        caller: Caller,
        code: str,
        version: str,
        query: Mapping[str, Any],
        content: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        reason: str = "",
    ) -> tuple[Record, bool]:
        """Update the record ``query`` finds, or create one from query and content together.
        Returns the record and whether it was created."""
        with self._unit(caller, code) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.CREATE, Operation.UPDATE)
            schema = writable_schema(registry, version)
            head = uow.store.lock_chain(registry.id)
            before = self._find_one(uow, registry, schema, allowed, query)
            if before is None:
                data = {**query, **{k: v for k, v in content.items() if v is not None}}
                record = self._apply(
                    uow, registry, schema, caller, before=None, data=data, reason=reason, head=head
                )
                created = True
            else:
                if expected_version is not None:
                    check_version(before, expected_version)
                merged = merge_patch(before.data, content, schema.id_field)
                record = self._apply(
                    uow,
                    registry,
                    schema,
                    caller,
                    before=before,
                    data=merged,
                    reason=reason,
                    head=head,
                )
                created = False
            shown = self._reveal(
                uow, registry, schema, caller, allowed=allowed, records=[record], operation="update"
            )[0]
            return shown, created

    def delete(
        self,
        caller: Caller,
        code: str,
        version: str,
        record_id: str,
        *,
        expected_version: int | None,
        reason: str,
    ) -> Record:
        """Soft-delete: the record leaves searches and reads; its history stays."""
        if not reason or not reason.strip():
            raise ReasonRequired('say why the record is deleted ("reason")')
        if expected_version is None:
            raise VersionRequired('send the version of the record you read ("version")')
        with self._unit(caller, code) as (uow, registry):
            self._allowed(uow, registry, caller, Operation.DELETE)
            schema = writable_schema(registry, version)
            head = uow.store.lock_chain(registry.id)
            before = uow.store.get_record(registry.id, record_id)
            if before is None or before.deleted:
                raise UnknownRecord(f"no record {record_id!r} in {code}")
            check_version(before, expected_version)
            return self._apply(
                uow, registry, schema, caller, before=before, data=None, reason=reason, head=head
            )

    def _apply(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        schema: RegistrySchema,
        caller: Caller,
        *,
        before: Record | None,
        data: dict[str, Any] | None,
        reason: str,
        head: tuple[int, str],
    ) -> Record:
        """Validate one change, write it as the next revision and move the index along."""
        store = uow.store
        if len(reason) > 1000:
            raise InvalidInput("a reason is at most 1000 characters")
        if data is not None:
            if before is None and data.get(schema.id_field) is None:
                data[schema.id_field] = self._ids()
            violations = schema.validate(data)
            if violations:
                raise SchemaViolation(
                    f"{len(violations)} problem(s): "
                    + "; ".join(f"{v.field} {v.reason}" for v in violations[:5]),
                    extra={"violations": [v.as_dict() for v in violations[:MAX_REPORTED]]},
                )
            self._check_references(store, registry, schema, data)
        record_id = before.record_id if before else str(data[schema.id_field]) if data else ""
        if before is None and store.known_ids(registry.id, [record_id]):
            raise DuplicateRecord(f"record {record_id!r} exists (or existed) in {registry.code}")
        old_unique = (
            set(schema.unique_entries(before.data)) if before and not before.deleted else set()
        )
        new_unique = set(schema.unique_entries(data)) if data is not None else set()
        for field, value in new_unique - old_unique:
            holder = store.taken(registry.id, field, [value]).get(value)
            if holder is not None and holder != record_id:
                raise UniqueViolation(
                    f"{field} is already held by another record", extra={"field": field}
                )
        sequence, previous = head
        sequence += 1
        now = self._clock.now()
        at = now.isoformat()
        change = (
            Change.CREATE if before is None else Change.DELETE if data is None else Change.UPDATE
        )
        record_version = 1 if before is None else before.version + 1
        data_text = canonical_bytes(data) if data is not None else b"null"
        hasher = RevisionHasher(
            registry=registry.code,
            change=change,
            schema_version=schema_version(registry),
            actor=caller.actor,
            at=at,
            reason=reason,
        )
        digest = hasher.hash(
            previous,
            sequence=sequence,
            record_id=record_id,
            record_version=record_version,
            data=data_text,
        )
        batch = WriteBatch()
        batch.revisions.append(
            RevisionRow(
                sequence,
                record_id,
                record_version,
                str(change),
                schema_version(registry),
                None if data is None else data_text.decode(),
                caller.actor,
                at,
                reason,
                previous,
                digest,
            )
        )
        created_at = before.created_at if before else now
        row = RecordRow(
            record_id,
            record_version,
            schema_version(registry),
            sequence,
            data is None,
            created_at,
            now,
        )
        if before is None:
            batch.new_records.append(NewRecord(row, schema.slot_values(data or {})))
        else:
            batch.changed_records.append(row)
            old_index = set(schema.index_entries(before.data)) if not before.deleted else set()
            new_index = set(schema.index_entries(data)) if data is not None else set()
            batch.index_removed.extend(
                IndexEntry(record_id, f, v) for f, v in old_index - new_index
            )
            batch.index_added.extend(IndexEntry(record_id, f, v) for f, v in new_index - old_index)
        store.write(registry.id, batch)
        store.advance_chain(registry.id, sequence, digest)
        return Record(
            record_id,
            record_version,
            schema_version(registry),
            data if data is not None else dict(before.data if before else {}),
            data is None,
            created_at,
            now,
        )

    def _check_references(
        self,
        store: RegistryStore,
        registry: Registry,
        schema: RegistrySchema,
        data: Mapping[str, Any],
    ) -> None:
        for spec in schema.fields.values():
            value = data.get(spec.name)
            if value is None:
                continue
            if spec.identity_token and not identity_token_ok(str(value)):
                raise BrokenReference(
                    f"{spec.name} must be an identity token (8-128 URL-safe characters)",
                    extra={"field": spec.name},
                )
            if spec.reference_registry:
                target = (
                    registry
                    if spec.reference_registry == registry.code
                    else registry_named(store, spec.reference_registry)
                )
                if not store.live_ids(target.id, [str(value)]):
                    raise BrokenReference(
                        f"{spec.name}: no record {value!r} in {target.code}",
                        extra={"field": spec.name},
                    )
