"""The rules every registry use case shares: finding a registry and the schema to read or write
through, who may search by which field, turning query content into index filters, the version
check of optimistic concurrency and the merge of a partial update."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baobab.kernel.errors import InvalidInput
from baobab.registries.domain import Filter, Operation, Record, Registry, SearchQuery
from baobab.registries.errors import (
    FieldNotSearchable,
    PersonalFieldDenied,
    StaleVersion,
    UnknownField,
    UnknownRegistry,
    VersionNotCurrent,
)
from baobab.registries.ports import RegistryStore
from baobab.registries.schema import (
    FieldSpec,
    RegistrySchema,
    coerce_text,
    compile_schema,
    encode_value,
)


def text_details(extra: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in extra.items() if isinstance(v, str | int)}


def registry_named(store: RegistryStore, code: str) -> Registry:
    registry = store.get_registry(code)
    if registry is None:
        raise UnknownRegistry(f"no registry {code!r}")
    return registry


def schema_version(registry: Registry) -> str:
    return registry.current.version


def writable_schema(registry: Registry, version: str) -> RegistrySchema:
    registry.version(version)  # unknown versions are 404 before anything else
    if version != registry.current.version:
        raise VersionNotCurrent(
            f"{registry.code} {version} is read-only; write to {registry.current.version}",
            extra={"current": registry.current.version},
        )
    return compile_schema(registry.current.schema_text)


def readable_schema(registry: Registry, version: str) -> RegistrySchema:
    return compile_schema(registry.version(version).schema_text)


def personal_fields(registry: Registry, schema: RegistrySchema) -> frozenset[str]:
    """Personal in the version read or in the current one: the stricter reading wins."""
    return schema.personal | compile_schema(registry.current.schema_text).personal


def check_version(record: Record, expected: int) -> None:
    if record.version != expected:
        raise StaleVersion(
            f"record {record.record_id} is at version {record.version}, not {expected}; "
            "read it again and re-apply your change",
            extra={"current_version": record.version},
        )


def merge_patch(
    before: Mapping[str, Any], patch: Mapping[str, Any], id_field: str
) -> dict[str, Any]:
    """RFC 7396 merge patch of the top level: a null removes a field. The id never changes."""
    if id_field in patch and patch[id_field] != before.get(id_field):
        raise InvalidInput(f"the id field {id_field} cannot be changed")
    merged = dict(before)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def searchable(
    registry: Registry, schema: RegistrySchema, allowed: frozenset[Operation], field: str
) -> FieldSpec:
    """The field's index spec (current marks), if the caller may search by it."""
    current = compile_schema(registry.current.schema_text)
    spec = schema.fields.get(field)
    if spec is None:
        raise UnknownField(f"{registry.code} has no field {field!r}")
    indexed = current.fields.get(field)
    if indexed is None or not indexed.indexed:
        raise FieldNotSearchable(f"{field} is not indexed; search by an indexed field")
    if field in personal_fields(registry, schema) and Operation.PERSONAL not in allowed:
        raise PersonalFieldDenied(
            f"{field} is personal data; searching by it needs the 'personal' right",
            extra={"field": field},
        )
    return indexed


def search_query(
    registry: Registry,
    schema: RegistrySchema,
    allowed: frozenset[Operation],
    content: Mapping[str, Any],
    *,
    empty_ok: bool = False,
) -> SearchQuery:
    """Query content (field -> value) as index filters; values given as text are converted."""
    if not isinstance(content, Mapping) or (not content and not empty_ok):
        raise InvalidInput("a query names at least one field and its value")
    filters = []
    record_id = None
    id_field = compile_schema(registry.current.schema_text).id_field
    for field, raw in content.items():
        spec = searchable(registry, schema, allowed, field)
        value = raw
        if isinstance(raw, str) and spec.scalar_type != "string":
            try:
                value = coerce_text(spec, raw)
            except ValueError as exc:
                raise InvalidInput(f"{field}: {exc}", extra={"field": field}) from exc
        if value is None or not scalar_ok(spec.scalar_type, value):
            raise InvalidInput(f"{field}: must be {spec.scalar_type}", extra={"field": field})
        if field == id_field:
            record_id = str(value)
        else:
            filters.append(Filter(field, encode_value(spec, value)))
    return SearchQuery(tuple(filters), record_id)


def scalar_ok(kind: str | None, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)
