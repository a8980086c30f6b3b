"""Registry definitions and rights: define a registry, publish a version that existing records
satisfy, grant and withdraw per-registry operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from baobab.registries.domain import (
    Caller,
    Operation,
    Registry,
    RegistryVersion,
    Right,
    check_code,
    version_key,
)
from baobab.registries.errors import (
    BreakingSchemaChange,
    DuplicateRegistry,
    DuplicateVersion,
    InvalidDefinition,
)
from baobab.registries.ports import (
    IndexEntry,
    RegistriesUnitOfWork,
)
from baobab.registries.rules import (
    registry_named,
)
from baobab.registries.schema import (
    RegistrySchema,
    compile_schema,
    parse_schema,
)
from baobab.registries.units import MAX_REPORTED, UseCases


class DefinitionUseCases(UseCases):
    """Define registries and versions; grant and revoke rights."""

    # --- definitions ----------------------------------------------------------------------

    def define(
        self,
        caller: Caller,
        *,
        code: str,
        version: str,
        schema: Mapping[str, Any],
        name: str | None = None,
        description: str = "",
    ) -> Registry:
        """Define a registry, or publish a new version of it. A version that existing records
        would not satisfy is refused, naming the records and why."""
        check_code(code)
        version_key(version)
        compiled = parse_schema(schema)
        now = self._clock.now()
        published = RegistryVersion(version, compiled.text, now, caller.actor)
        with self._uow() as uow:
            for spec in compiled.references:
                target = spec.reference_registry
                if target != code and uow.store.get_registry(str(target)) is None:
                    raise InvalidDefinition(f"{spec.name} refers to unknown registry {target!r}")
            registry = uow.store.get_registry(code)
            if registry is None:
                title = (name or str(compiled.document.get("title") or code)).strip()[:200]
                registry_id = uow.store.add_registry(
                    code=code, name=title, description=description, created_at=now
                )
                if registry_id is None:
                    raise DuplicateRegistry(f"registry {code!r} is already defined")
                uow.store.add_version(registry_id, published)
                self._audit(uow, "registries.registry_defined", caller.actor, code, version=version)
            else:
                self._publish(uow, registry, compiled, published, caller)
            return registry_named(uow.store, code)

    def _publish(
        self,
        uow: RegistriesUnitOfWork,
        registry: Registry,
        compiled: RegistrySchema,
        published: RegistryVersion,
        caller: Caller,
    ) -> None:
        if any(v.version == published.version for v in registry.versions):
            raise DuplicateVersion(f"{registry.code} {published.version} is already published")
        current = compile_schema(registry.current.schema_text)
        if version_key(published.version) <= version_key(registry.current.version):
            raise InvalidDefinition(
                f"a new version must be above the current {registry.current.version}"
            )
        if compiled.id_field != current.id_field:
            raise BreakingSchemaChange(
                f"the id field cannot change ({current.id_field} -> {compiled.id_field})"
            )
        uow.store.lock_chain(registry.id)
        violations: list[dict[str, str]] = []
        index: list[IndexEntry] = []
        seen: dict[tuple[str, str], str] = {}
        for record in uow.store.iter_records(registry.id):
            for v in compiled.validate(record.data):
                violations.append(
                    {"record": record.record_id, "field": v.field, "reason": v.reason}
                )
            for field, value in compiled.unique_entries(record.data):
                other = seen.setdefault((field, value), record.record_id)
                if other != record.record_id:
                    violations.append(
                        {"record": record.record_id, "field": field, "reason": f"same as {other}"}
                    )
            index.extend(
                IndexEntry(record.record_id, f, v) for f, v in compiled.index_entries(record.data)
            )
        if violations:
            raise BreakingSchemaChange(
                f"{len(violations)} problem(s) in existing records; publish a version they satisfy "
                "or change the records first",
                extra={"violations": violations[:MAX_REPORTED]},
            )
        if not uow.store.add_version(registry.id, published):
            raise DuplicateVersion(f"{registry.code} {published.version} is already published")
        if compiled.index_signature() != current.index_signature():
            uow.store.replace_index(registry.id, index)  # by the new version's slots
        self._audit(
            uow,
            "registries.version_published",
            caller.actor,
            registry.code,
            version=published.version,
        )

    def list_registries(self) -> Sequence[Registry]:
        with self._uow() as uow:
            return uow.store.list_registries()

    def get_registry(self, code: str) -> Registry:
        with self._uow() as uow:
            return registry_named(uow.store, code)

    # --- rights ---------------------------------------------------------------------------

    def grant(
        self, caller: Caller, *, code: str, client_id: str, operations: Sequence[str]
    ) -> list[Right]:
        """Allow ``client_id`` (a directory subsystem) these operations on one registry."""
        wanted = Operation.parse_all(operations)
        if not wanted or not client_id or len(client_id) > 265:
            raise InvalidDefinition("name a client id and at least one operation")
        now = self._clock.now()
        with self._uow() as uow:
            registry = registry_named(uow.store, code)
            for operation in sorted(wanted):
                if uow.store.add_right(registry.id, Right(code, client_id, operation, now)):
                    self._audit(
                        uow,
                        "registries.right_granted",
                        caller.actor,
                        client_id,
                        registry=code,
                        operation=str(operation),
                    )
            return [r for r in uow.store.rights(registry.id) if r.client_id == client_id]

    def revoke(
        self, caller: Caller, *, code: str, client_id: str, operations: Sequence[str]
    ) -> None:
        wanted = Operation.parse_all(operations)
        with self._uow() as uow:
            registry = registry_named(uow.store, code)
            for operation in sorted(wanted):
                if uow.store.remove_right(registry.id, client_id, operation):
                    self._audit(
                        uow,
                        "registries.right_revoked",
                        caller.actor,
                        client_id,
                        registry=code,
                        operation=str(operation),
                    )

    def rights(self, code: str) -> Sequence[Right]:
        with self._uow() as uow:
            return uow.store.rights(registry_named(uow.store, code).id)
