"""The statements of exists, search and count, built once per shape of query.

A query's shape is which slots it filters on, whether it names a record id, and whether and by
which slot and which way it is sorted; its values are bound parameters. Building a SQLAlchemy
statement costs more CPU than the database spends answering an indexed probe, so each shape is
built once per process and reused (SQLAlchemy then also reuses its compiled form).

An indexed field's value is kept in its slot column of the record's row (``k1``..``k8``, none
for a deleted record), so a search is driven by the partial index of its first filter's slot,
the other filters checked on the same rows, or by the live records when there is no filter; the
page is cut from the ids alone and only then joined to the records and their newest revisions,
all in one statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, literal, select
from sqlalchemy.sql import FromClause

from baobab.registries.adapters.tables import records, revisions, slot_column
from baobab.registries.domain import SearchQuery

Shape = tuple[tuple[int, ...], bool]  # the slots filtered on, whether by record id


def shape_of(query: SearchQuery, slots: Mapping[str, int]) -> Shape | None:
    """The shape of ``query`` given the registry's slots; ``None`` when it filters on a field
    that is not indexed (any more): nothing matches."""
    try:
        filtered = tuple(slots[condition.field] for condition in query.filters)
    except KeyError:
        return None
    return filtered, query.record_id is not None


def parameters(registry_id: int, query: SearchQuery) -> dict[str, Any]:
    """The values of ``query`` for the statements of its shape."""
    values: dict[str, Any] = {
        "registry_id": registry_id,
        "offset": query.offset,
        "limit": query.limit,
    }
    for number, condition in enumerate(query.filters):
        values[f"value_{number}"] = condition.value
    if query.record_id is not None:
        values["record_id"] = query.record_id
    return values


def _matching(table: FromClause, shape: Shape) -> list[ColumnElement[bool]]:
    filtered, by_id = shape
    where: list[ColumnElement[bool]] = [table.c.registry_id == bindparam("registry_id")]
    if not filtered:  # a slot holds values of live records only
        where.append(table.c.deleted == false())
    where.extend(
        table.c[slot_column(slot)] == bindparam(f"value_{number}")
        for number, slot in enumerate(filtered)
    )
    if by_id:
        where.append(table.c.record_id == bindparam("record_id"))
    return where


@lru_cache(maxsize=64)
def exists_statement(shape: Shape) -> Select[Any]:
    return select(literal(1)).select_from(records).where(*_matching(records, shape)).limit(1)


@lru_cache(maxsize=64)
def count_statement(shape: Shape) -> Select[Any]:
    return select(func.count()).select_from(records).where(*_matching(records, shape))


@lru_cache(maxsize=128)
def page_statement(shape: Shape, sort_slot: int | None, descending: bool) -> Select[Any]:
    """One page of matching records with their data, in order (records without a value of the
    sort field last)."""
    matching = records.alias("matching")
    columns: list[Any] = [matching.c.record_id.label("page_id")]
    inner_order: list[Any] = []
    if sort_slot is not None:
        by = matching.c[slot_column(sort_slot)]
        columns.append(by.label("sort_value"))
        inner_order = [by.is_(None), by.desc() if descending else by]
    inner_order.append(matching.c.record_id.desc() if descending else matching.c.record_id)
    page = (
        select(*columns)
        .where(*_matching(matching, shape))
        .order_by(*inner_order)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .subquery("page")
    )
    joined = page.join(
        records,
        and_(
            records.c.registry_id == bindparam("registry_id"), records.c.record_id == page.c.page_id
        ),
    ).join(
        revisions,
        and_(
            revisions.c.registry_id == records.c.registry_id,
            revisions.c.sequence == records.c.revision_seq,
        ),
    )
    order: list[Any] = []
    if sort_slot is not None:
        value = page.c.sort_value
        order = [value.is_(None), value.desc() if descending else value]
    order.append(page.c.page_id.desc() if descending else page.c.page_id)
    return select(records, revisions.c.data).select_from(joined).order_by(*order)
