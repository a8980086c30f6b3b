"""HTTP routes of the registries, mounted under ``/registries``: the GovStack Digital Registries
data API (``/data/{registry}/{version}/...``) and database API (``/databases``, ``/database/...``).

Routes need a bearer token with ``registries:read``, ``registries:write`` or ``registries:admin``;
on top, the service checks the caller's rights on the registry named in the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from baobab.infra.http.auth import require_scope
from baobab.kernel.errors import InvalidInput
from baobab.kernel.principal import Principal
from baobab.registries.api_models import (
    Answer,
    CreateIn,
    DatabaseOut,
    DefineIn,
    DisclosureOut,
    ExistsOut,
    ListOut,
    QueryIn,
    RecordOut,
    RevisionOut,
    RightIn,
    RightOut,
    UpdateIn,
    UpsertOut,
    ValueOut,
    VerificationOut,
    VersionOut,
    field_marks,
)
from baobab.registries.domain import Caller
from baobab.registries.services import MAX_PAGE_SIZE, RegistryService

Reader = Annotated[Principal, Depends(require_scope("registries:read"))]
Writer = Annotated[Principal, Depends(require_scope("registries:write"))]
Admin = Annotated[Principal, Depends(require_scope("registries:admin"))]
_LIST_PARAMS = {"page", "page_size", "ordering"}


def _caller(principal: Principal) -> Caller:
    return Caller(principal.client_id)


def build_router(*, registries: RegistryService) -> APIRouter:
    """The registries' routes over the service."""
    router = APIRouter(prefix="/registries", tags=["registries"])
    # the data API first: a request is matched against the routes in order, and its reads
    # are the hot path
    _data_routes(router, registries)
    _database_routes(router, registries)
    return router


def _database_routes(router: APIRouter, registries: RegistryService) -> None:
    """The database (schema) API: registries, versions, rights."""

    @router.get("/databases", response_model=list[DatabaseOut], summary="Every registry")
    def databases(_: Reader) -> list[DatabaseOut]:
        return [DatabaseOut.of(r) for r in registries.list_registries()]

    @router.get(
        "/database/{registry}", response_model=DatabaseOut, summary="A registry and its schema"
    )
    def database(registry: str, _: Reader) -> DatabaseOut:
        return DatabaseOut.of(registries.get_registry(registry))

    @router.post(
        "/database/modify",
        response_model=DatabaseOut,
        status_code=201,
        summary="Define a registry or publish a new version of its schema",
    )
    def modify(body: DefineIn, principal: Admin) -> DatabaseOut:
        defined = registries.define(
            _caller(principal),
            code=body.code,
            version=body.version,
            schema=body.schema_,
            name=body.name,
            description=body.description,
        )
        return DatabaseOut.of(defined)

    @router.get(
        "/database/{registry}/rights",
        response_model=list[RightOut],
        summary="Every subsystem's rights on a registry",
    )
    def list_rights(registry: str, _: Admin) -> list[RightOut]:
        return [RightOut.of(r) for r in registries.rights(registry)]

    @router.post(
        "/database/{registry}/rights",
        response_model=list[RightOut],
        status_code=201,
        summary="Grant a subsystem operations on a registry",
    )
    def grant(registry: str, body: RightIn, principal: Admin) -> list[RightOut]:
        granted = registries.grant(
            _caller(principal),
            code=registry,
            client_id=body.client_id,
            operations=body.operations,
        )
        return [RightOut.of(r) for r in granted]

    @router.delete(
        "/database/{registry}/rights",
        status_code=204,
        summary="Withdraw operations on a registry from a subsystem",
    )
    def revoke(
        registry: str,
        principal: Admin,
        client_id: Annotated[str, Query()],
        operation: Annotated[list[str], Query()],
    ) -> Response:
        registries.revoke(
            _caller(principal), code=registry, client_id=client_id, operations=operation
        )
        return Response(status_code=204)

    @router.get(
        "/database/{registry}/{version}",
        response_model=VersionOut,
        summary="One published version's schema and field marks",
    )
    def database_version(registry: str, version: str, _: Reader) -> VersionOut:
        published = registries.get_registry(registry).version(version)
        return VersionOut(
            version=published.version,
            created_at=published.created_at,
            created_by=published.created_by,
            schema=published.document,
            fields=field_marks(published.schema_text),
        )


def _data_routes(router: APIRouter, registries: RegistryService) -> None:
    """The data API: records, their history and the disclosure log."""
    data = "/data/{registry}/{version}"

    # The hot reads are coroutines that hand only the service call to a worker thread: a plain
    # function endpoint costs two thread hops per request (the call, then the validation of its
    # answer), each a few hundred microseconds of CPU on a busy machine.

    @router.get(data, response_model=ListOut, summary="Search records (query.<field>=value)")
    async def search(
        *,
        registry: str,
        version: str,
        request: Request,
        principal: Reader,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        ordering: Annotated[
            str | None, Query(description="An indexed field; '-' first for descending")
        ] = None,
    ) -> ListOut:
        filters: dict[str, Any] = {}
        for name, value in request.query_params.multi_items():
            if name.startswith("query."):
                filters[name.removeprefix("query.")] = value
            elif name not in _LIST_PARAMS:
                raise InvalidInput(
                    f"unsupported parameter {name!r}; filter with query.<field>=<value>"
                )
        found = await run_in_threadpool(
            registries.search,
            _caller(principal),
            registry,
            version,
            filters=filters,
            ordering=ordering,
            page=page,
            page_size=page_size,
        )

        def link(number: int) -> str:
            return str(request.url.include_query_params(page=number))

        more = page * page_size < found.count
        return ListOut(
            count=found.count,
            next=link(page + 1) if more else None,
            previous=link(page - 1) if page > 1 else None,
            results=[RecordOut.of(r) for r in found.records],
        )

    @router.post(data + "/create", response_model=RecordOut, summary="Create a record")
    def create(registry: str, version: str, body: CreateIn, principal: Writer) -> RecordOut:
        record = registries.create(
            _caller(principal), registry, version, body.write.content, reason=body.reason
        )
        return RecordOut.of(record)

    @router.post(data + "/exists", response_model=ExistsOut, summary="Is there such a record?")
    async def exists(registry: str, version: str, body: QueryIn, principal: Reader) -> ExistsOut:
        found = await run_in_threadpool(
            registries.exists, _caller(principal), registry, version, body.query.content
        )
        message = "Object found from database" if found else "Object not found from database"
        return ExistsOut(answer=Answer(status=found, message=message))

    @router.post(data + "/read", response_model=RecordOut, summary="Read the one matching record")
    async def read(registry: str, version: str, body: QueryIn, principal: Reader) -> RecordOut:
        record = await run_in_threadpool(
            registries.read, _caller(principal), registry, version, body.query.content
        )
        return RecordOut.of(record)

    @router.put(data + "/update", response_model=RecordOut, summary="Update the matching record")
    def update(registry: str, version: str, body: UpdateIn, principal: Writer) -> RecordOut:
        record = registries.update(
            _caller(principal),
            registry,
            version,
            body.query.content,
            body.write.content,
            expected_version=body.version,
            reason=body.reason,
        )
        return RecordOut.of(record)

    @router.post(
        data + "/update-or-create",
        response_model=UpsertOut,
        summary="Update the matching record, or create it",
    )
    def update_or_create(
        registry: str, version: str, body: UpdateIn, principal: Writer
    ) -> UpsertOut:
        record, created = registries.update_or_create(
            _caller(principal),
            registry,
            version,
            body.query.content,
            body.write.content,
            expected_version=body.version,
            reason=body.reason,
        )
        shown = RecordOut.of(record)
        return UpsertOut(content=shown.content, meta=shown.meta, created=created)

    @router.delete(data + "/{record_id}/delete", status_code=204, summary="Soft-delete a record")
    def delete(
        *,
        registry: str,
        version: str,
        record_id: str,
        principal: Writer,
        reason: Annotated[str, Query(max_length=1000, description="Why; kept in the history")],
        record_version: Annotated[
            int | None, Query(alias="version", ge=1, description="The record version you read")
        ] = None,
    ) -> Response:
        registries.delete(
            _caller(principal),
            registry,
            version,
            record_id,
            expected_version=record_version,
            reason=reason,
        )
        return Response(status_code=204)

    @router.get(
        data + "/{record_id}/read-value/{field}.{ext}",
        response_model=ValueOut,
        summary="One field of one record",
    )
    def read_value(
        *, registry: str, version: str, record_id: str, field: str, ext: str, principal: Reader
    ) -> ValueOut:
        if ext != "json":
            raise InvalidInput("only the .json representation is served")
        value = registries.read_value(_caller(principal), registry, version, record_id, field)
        return ValueOut(value=value)

    @router.get(
        data + "/{record_id}/history",
        response_model=list[RevisionOut],
        summary="Every revision of one record (who, when, why)",
    )
    def history(
        registry: str, version: str, record_id: str, principal: Reader
    ) -> list[RevisionOut]:
        registries.get_registry(registry).version(version)
        return [
            RevisionOut.of(r) for r in registries.history(_caller(principal), registry, record_id)
        ]

    @router.get(
        data + "/revisions",
        response_model=list[RevisionOut],
        summary="Export the registry's revision chain",
    )
    def revisions(
        *,
        registry: str,
        version: str,
        principal: Reader,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[RevisionOut]:
        registries.get_registry(registry).version(version)
        found = registries.revisions(_caller(principal), registry, after=after, limit=limit)
        return [RevisionOut.of(r) for r in found]

    @router.get(
        data + "/verify",
        response_model=VerificationOut,
        summary="Re-compute the revision and disclosure chains, check every record against them",
    )
    def verify(registry: str, version: str, principal: Reader) -> VerificationOut:
        registries.get_registry(registry).version(version)
        return VerificationOut.of(registries.verify(_caller(principal), registry))

    @router.get(
        data + "/disclosures",
        response_model=list[DisclosureOut],
        summary="Export the log of reads of personal data",
    )
    def disclosures(
        *,
        registry: str,
        version: str,
        principal: Reader,
        record_id: Annotated[str | None, Query()] = None,
        after: Annotated[
            int, Query(ge=0, description="Sequence of the last entry seen (0: from the start)")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[DisclosureOut]:
        registries.get_registry(registry).version(version)
        found = registries.disclosures(
            _caller(principal), registry, record_id=record_id, after=after, limit=limit
        )
        return [DisclosureOut.of(d) for d in found]
