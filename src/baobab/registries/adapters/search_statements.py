"""The statements of exists, search and count, built once per shape of query.

A query's shape is how many filters it has, whether it names a record id, and whether and which
way it is sorted; its values are bound parameters. Building a SQLAlchemy statement costs more
CPU than the database spends answering an indexed probe, so each shape is built once per
process and reused (SQLAlchemy then also reuses its compiled form).

A search is driven by the first filter's index range (deleted records hold no index rows), the
other filters joined to it on the record id, or by the live records when there is no filter; the
page is cut from the ids alone and only then joined to the records and their newest revisions,
all in one statement.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, literal, select
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import BindParameter

from baobab.registries.adapters.tables import index, records, revisions
from baobab.registries.domain import SearchQuery


def parameters(registry_id: int, query: SearchQuery) -> dict[str, Any]:
    """The values of ``query`` for the statements of its shape."""
    values: dict[str, Any] = {
        "registry_id": registry_id,
        "offset": query.offset,
        "limit": query.limit,
    }
    for number, condition in enumerate(query.filters):
        values[f"field_{number}"] = condition.field
        values[f"value_{number}"] = condition.value
    if query.record_id is not None:
        values["record_id"] = query.record_id
    if query.sort_field is not None:
        values["sort_field"] = query.sort_field
    return values


def _matching(filters: int, by_id: bool) -> tuple[FromClause, Any, list[ColumnElement[bool]]]:
    registry_id: BindParameter[int] = bindparam("registry_id")
    if not filters:
        where = [records.c.registry_id == registry_id, records.c.deleted == false()]
        if by_id:
            where.append(records.c.record_id == bindparam("record_id"))
        return records, records.c.record_id, where
    first = index.alias("f0")
    source: FromClause = first
    where = [
        first.c.registry_id == registry_id,
        first.c.field == bindparam("field_0"),
        first.c.value == bindparam("value_0"),
    ]
    for number in range(1, filters):
        alias = index.alias(f"f{number}")
        source = source.join(
            alias,
            and_(
                alias.c.registry_id == first.c.registry_id,
                alias.c.record_id == first.c.record_id,
                alias.c.field == bindparam(f"field_{number}"),
                alias.c.value == bindparam(f"value_{number}"),
            ),
        )
    if by_id:
        where.append(first.c.record_id == bindparam("record_id"))
    return source, first.c.record_id, where


@lru_cache(maxsize=64)
def exists_statement(filters: int, by_id: bool) -> Select[Any]:
    source, _, where = _matching(filters, by_id)
    return select(literal(1)).select_from(source).where(*where).limit(1)


@lru_cache(maxsize=64)
def count_statement(filters: int, by_id: bool) -> Select[Any]:
    source, _, where = _matching(filters, by_id)
    return select(func.count()).select_from(source).where(*where)


@lru_cache(maxsize=128)
def page_statement(filters: int, by_id: bool, sorted_by: bool, descending: bool) -> Select[Any]:
    """One page of matching records with their data, in order."""
    source, record_id, where = _matching(filters, by_id)
    columns: list[Any] = [record_id.label("page_id")]
    if sorted_by:
        by = index.alias("sort_by")
        source = source.outerjoin(
            by,
            and_(
                by.c.registry_id == bindparam("registry_id"),
                by.c.record_id == record_id,
                by.c.field == bindparam("sort_field"),
            ),
        )
        columns.append(by.c.value.label("sort_value"))
        inner_order = [by.c.value.is_(None), by.c.value.desc() if descending else by.c.value]
    else:
        inner_order = []
    inner_order.append(record_id.desc() if descending else record_id)
    page = (
        select(*columns)
        .select_from(source)
        .where(*where)
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
    if sorted_by:
        value = page.c.sort_value
        order = [value.is_(None), value.desc() if descending else value]
    order.append(page.c.page_id.desc() if descending else page.c.page_id)
    return select(records, revisions.c.data).select_from(joined).order_by(*order)
