"""Record reads: read one, exists, search and read one value. Reads of personal fields are
logged in the same unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baobab.kernel.errors import InvalidInput
from baobab.registries.domain import Caller, Operation, Page, Record, SearchQuery
from baobab.registries.errors import PersonalFieldDenied, UnknownField, UnknownRecord
from baobab.registries.rules import (
    personal_fields,
    readable_schema,
    search_query,
    searchable,
)
from baobab.registries.units import UseCases

MAX_PAGE_SIZE = 100


class ReadUseCases(UseCases):
    """Reads of records as the caller may see them."""

    def read(self, caller: Caller, code: str, version: str, query: Mapping[str, Any]) -> Record:
        """The one record ``query`` finds; more than one is an error."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.READ)
            schema = readable_schema(registry, version)
            record = self._find_one(uow, registry, schema, allowed, query)
            if record is None:
                raise UnknownRecord("no record matches the query")
            return self._reveal(
                uow, registry, schema, caller, allowed=allowed, records=[record], operation="read"
            )[0]

    def exists(self, caller: Caller, code: str, version: str, query: Mapping[str, Any]) -> bool:
        """Whether a live record matches ``query``; returns no data."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.READ)
            schema = readable_schema(registry, version)
            return uow.store.exists(registry.id, search_query(registry, schema, allowed, query))

    def search(
        self,
        caller: Caller,
        code: str,
        version: str,
        *,
        filters: Mapping[str, Any],
        ordering: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> Page:
        """Live records matching every filter (indexed fields), sorted by ``ordering`` (an
        indexed field or the id field, ``-`` first for descending), one page at a time."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page starts at 1; page_size is 1 to {MAX_PAGE_SIZE}")
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.READ)
            schema = readable_schema(registry, version)
            query = search_query(registry, schema, allowed, filters, empty_ok=True)
            sort_field, descending = None, False
            if ordering:
                descending = ordering.startswith("-")
                sort_field = ordering.lstrip("-")
                spec = searchable(registry, schema, allowed, sort_field)
                sort_field = None if spec.name == schema.id_field else spec.name
            query = SearchQuery(
                query.filters,
                query.record_id,
                sort_field,
                descending,
                (page - 1) * page_size,
                page_size,
            )
            found = uow.store.search(registry.id, query)
            shown = self._reveal(
                uow,
                registry,
                schema,
                caller,
                allowed=allowed,
                records=found.records,
                operation="search",
            )
            return Page(found.count, shown)

    def read_value(
        self, caller: Caller, code: str, version: str, record_id: str, field: str
    ) -> Any:
        """One field of one record; a personal field needs the ``personal`` right."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.READ)
            schema = readable_schema(registry, version)
            if field not in schema.fields:
                raise UnknownField(f"{code} {version} has no field {field!r}")
            if field in personal_fields(registry, schema) and Operation.PERSONAL not in allowed:
                raise PersonalFieldDenied(
                    f"{field} is personal data; it needs the 'personal' right on {code}",
                    extra={"field": field},
                )
            record = uow.store.get_record(registry.id, record_id)
            if record is None or record.deleted:
                raise UnknownRecord(f"no record {record_id!r} in {code}")
            value = record.data.get(field)
            if value is not None and field in personal_fields(registry, schema):
                self._disclose(
                    uow,
                    registry,
                    caller,
                    record_id=record_id,
                    operation="read-value",
                    fields=(field,),
                )
            return value
