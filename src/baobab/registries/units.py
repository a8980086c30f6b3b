"""What every registry use case stands on: a unit of work on one registry with the caller's
rights checked (refusals audited), and records or revisions shown as the caller may see them,
with each read of personal fields logged."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Forbidden
from baobab.kernel.ids import new_id
from baobab.registries.domain import (
    Caller,
    Disclosure,
    Operation,
    Record,
    Registry,
    Revision,
    SearchQuery,
)
from baobab.registries.errors import AmbiguousQuery, NoRight, UnknownRegistry
from baobab.registries.ports import (
    RegistriesUnitOfWork,
    UnitOfWorkFactory,
)
from baobab.registries.rules import (
    personal_fields,
    search_query,
    text_details,
)
from baobab.registries.schema import (
    RegistrySchema,
    compile_schema,
)

MAX_REPORTED = 50


class UseCases:
    """The shared machinery of the registries' use cases."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, ids: Callable[[], str] = new_id
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    # --- units of work and rights ---------------------------------------------------------

    @contextmanager
    def _unit(
        self, caller: Caller, code: str, *, reading: bool = False
    ) -> Iterator[tuple[RegistriesUnitOfWork, Registry]]:
        """A unit of work on one registry; a refusal is audited in a unit of its own.
        ``reading``: the use case changes nothing but the disclosure log."""
        try:
            with self._uow().reading() if reading else self._uow() as uow:
                registry = uow.store.registry_for(code, caller.actor)
                if registry is None:
                    raise UnknownRegistry(f"no registry {code!r}")
                yield uow, registry
        except Forbidden as refusal:
            with self._uow() as uow:
                uow.audit.append(
                    AuditEvent(
                        "registries.access_refused",
                        caller.actor,
                        code,
                        outcome="refused",
                        details={"code": refusal.code, **text_details(refusal.extra)},
                    ),
                    at=self._clock.now(),
                )
            raise

    def _allowed(
        self, uow: RegistriesUnitOfWork, registry: Registry, caller: Caller, *needed: Operation
    ) -> frozenset[Operation]:
        granted = (
            frozenset(Operation)
            if caller.unrestricted
            else uow.store.operations_of(registry.id, caller.actor)
        )
        for operation in needed:
            if operation not in granted:
                raise NoRight(
                    f"{caller.actor} has no right to {operation} in registry {registry.code!r}",
                    extra={"registry": registry.code, "operation": str(operation)},
                )
        return granted

    def _audit(
        self, uow: RegistriesUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())

    # --- helpers shared with bulk operations ----------------------------------------------

    def _find_one(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        schema: RegistrySchema,
        allowed: frozenset[Operation],
        query: Mapping[str, Any],
    ) -> Record | None:
        search = search_query(registry, schema, allowed, query)
        if search.record_id is not None and not search.filters:
            record = uow.store.get_record(registry.id, search.record_id)
            return None if record is None or record.deleted else record
        found = uow.store.search(
            registry.id, SearchQuery(search.filters, search.record_id, limit=2), count=False
        )
        if len(found.records) > 1:
            raise AmbiguousQuery("the query matches more than one record; add fields to it")
        return found.records[0] if found.records else None

    def _reveal(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        schema: RegistrySchema,
        caller: Caller,
        *,
        allowed: frozenset[Operation],
        records: Sequence[Record],
        operation: str | None,
    ) -> list[Record]:
        """Records as ``caller`` may see them through ``schema``'s fields; a disclosure of
        personal fields is logged per record (unless ``operation`` is None)."""
        personal = personal_fields(registry, schema)
        sees_personal = Operation.PERSONAL in allowed
        shown = []
        disclosed = []
        for record in records:
            data = {
                k: v
                for k, v in record.data.items()
                if k in schema.fields and (sees_personal or k not in personal)
            }
            fields = tuple(sorted(k for k in data if k in personal))
            if fields and operation is not None:
                disclosed.append(
                    self._disclosure(registry, caller, record.record_id, operation, fields)
                )
            shown.append(
                Record(
                    record.record_id,
                    record.version,
                    record.schema_version,
                    data,
                    record.deleted,
                    record.created_at,
                    record.updated_at,
                )
            )
        if disclosed:
            uow.store.log_disclosures(registry.id, disclosed)
        return shown

    def _reveal_revisions(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        caller: Caller,
        allowed: frozenset[Operation],
        revisions: Sequence[Revision],
    ) -> list[Revision]:
        personal = personal_fields(registry, compile_schema(registry.current.schema_text))
        sees_personal = Operation.PERSONAL in allowed
        out = []
        disclosed: dict[str, set[str]] = {}
        for revision in revisions:
            data = revision.data
            if data is not None:
                if sees_personal:
                    disclosed.setdefault(revision.record_id, set()).update(
                        k for k in data if k in personal
                    )
                else:
                    data = {k: v for k, v in data.items() if k not in personal}
            out.append(
                Revision(
                    revision.registry,
                    revision.sequence,
                    revision.record_id,
                    revision.record_version,
                    revision.change,
                    revision.schema_version,
                    data,
                    revision.actor,
                    revision.at,
                    revision.reason,
                    revision.previous_hash,
                    revision.hash,
                )
            )
        entries = [
            self._disclosure(registry, caller, rid, "history", tuple(sorted(fields)))
            for rid, fields in disclosed.items()
            if fields
        ]
        if entries:
            uow.store.log_disclosures(registry.id, entries)
        return out

    def _disclose(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        caller: Caller,
        *,
        record_id: str,
        operation: str,
        fields: tuple[str, ...],
    ) -> None:
        entry = self._disclosure(registry, caller, record_id, operation, fields)
        uow.store.log_disclosures(registry.id, [entry])

    def _disclosure(
        self,
        registry: Registry,
        caller: Caller,
        record_id: str,
        operation: str,
        fields: tuple[str, ...],
    ) -> Disclosure:
        return Disclosure(
            new_id(), registry.code, record_id, caller.actor, self._clock.now(), operation, fields
        )
