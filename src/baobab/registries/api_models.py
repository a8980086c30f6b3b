"""Request and response bodies of the registries' HTTP API (GovStack Digital Registries shapes,
plus Baobab's ``meta``, history and disclosure chain)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from baobab.registries.domain import (
    Disclosure,
    Record,
    Registry,
    Revision,
    Right,
    Verification,
)
from baobab.registries.schema import compile_schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Content(_Strict):
    content: dict[str, Any] = Field(description="Field names and values of the registry's schema")


class CreateIn(_Strict):
    write: Content
    reason: str = Field(default="", max_length=1000, description="Why (kept in the history)")


class QueryIn(_Strict):
    query: Content


class UpdateIn(_Strict):
    query: Content = Field(description="Finds the one record to change (indexed fields or id)")
    write: Content = Field(description="Fields to set; null removes a field (RFC 7396)")
    version: int | None = Field(
        default=None, ge=1, description="The record version you read; required by update"
    )
    reason: str = Field(default="", max_length=1000)


class Meta(BaseModel):
    id: str
    version: int
    schema_version: str
    created_at: datetime
    updated_at: datetime


class RecordOut(BaseModel):
    content: dict[str, Any]
    meta: Meta

    @classmethod
    def of(cls, record: Record) -> RecordOut:
        return cls(
            content=dict(record.data),
            meta=Meta(
                id=record.record_id,
                version=record.version,
                schema_version=record.schema_version,
                created_at=record.created_at,
                updated_at=record.updated_at,
            ),
        )


class UpsertOut(RecordOut):
    created: bool


class ListOut(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[RecordOut]


class Answer(BaseModel):
    status: bool
    message: str


class ExistsOut(BaseModel):
    answer: Answer


class ValueOut(BaseModel):
    value: Any


class RevisionOut(BaseModel):
    sequence: int
    record_id: str
    record_version: int
    operation: str
    schema_version: str
    data: dict[str, Any] | None
    actor: str
    at: str
    reason: str
    previous_hash: str
    hash: str

    @classmethod
    def of(cls, r: Revision) -> RevisionOut:
        return cls(
            sequence=r.sequence,
            record_id=r.record_id,
            record_version=r.record_version,
            operation=str(r.change),
            schema_version=r.schema_version,
            data=dict(r.data) if r.data is not None else None,
            actor=r.actor,
            at=r.at,
            reason=r.reason,
            previous_hash=r.previous_hash,
            hash=r.hash,
        )


class DisclosureOut(BaseModel):
    id: str
    record_id: str
    actor: str
    at: datetime
    operation: str
    fields: list[str]
    sequence: int
    previous_hash: str
    hash: str

    @classmethod
    def of(cls, d: Disclosure) -> DisclosureOut:
        return cls(
            id=d.id,
            record_id=d.record_id,
            actor=d.actor,
            at=d.at,
            operation=d.operation,
            fields=list(d.fields),
            sequence=d.sequence,
            previous_hash=d.previous_hash,
            hash=d.hash,
        )


class VerificationOut(BaseModel):
    registry: str
    revisions: int
    intact: bool
    first_broken_revision: int | None = None
    reason: str | None = None
    disclosures: int
    first_broken_disclosure: int | None = None

    @classmethod
    def of(cls, v: Verification) -> VerificationOut:
        return cls(
            registry=v.registry,
            revisions=v.revisions,
            intact=v.intact,
            first_broken_revision=v.first_broken,
            reason=v.reason,
            disclosures=v.disclosures,
            first_broken_disclosure=v.first_broken_disclosure,
        )


class FieldMarks(BaseModel):
    name: str
    personal: bool
    indexed: bool
    unique: bool
    reference: str | None


class VersionOut(BaseModel):
    version: str
    created_at: datetime
    created_by: str
    schema_: dict[str, Any] = Field(alias="schema")
    fields: list[FieldMarks]


class DatabaseOut(BaseModel):
    code: str
    name: str
    description: str
    current_version: str
    versions: list[str]
    id_field: str
    schema_: dict[str, Any] = Field(alias="schema")
    fields: list[FieldMarks]

    @classmethod
    def of(cls, registry: Registry) -> DatabaseOut:
        current = registry.current
        compiled = compile_schema(current.schema_text)
        return cls(
            code=registry.code,
            name=registry.name,
            description=registry.description,
            current_version=current.version,
            versions=[v.version for v in registry.versions],
            id_field=compiled.id_field,
            schema=current.document,
            fields=field_marks(current.schema_text),
        )


class DefineIn(_Strict):
    code: str = Field(examples=["social-registry"], description="Short code used in data paths")
    version: str = Field(examples=["1.0"])
    name: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=2000)
    schema_: dict[str, Any] = Field(
        alias="schema", description="JSON Schema (supported subset) with x- field marks"
    )


class RightIn(_Strict):
    client_id: str = Field(examples=["DEV/GOV/MOSD/social-registry-app"])
    operations: list[str] = Field(examples=[["read", "create", "update"]])


class RightOut(BaseModel):
    registry: str
    client_id: str
    operation: str
    granted_at: datetime

    @classmethod
    def of(cls, r: Right) -> RightOut:
        return cls(
            registry=r.registry,
            client_id=r.client_id,
            operation=str(r.operation),
            granted_at=r.granted_at,
        )


def field_marks(schema_text: str) -> list[FieldMarks]:
    """The marks of every field of a published schema."""
    compiled = compile_schema(schema_text)
    return [
        FieldMarks(
            name=f.name,
            personal=f.personal,
            indexed=f.indexed,
            unique=f.unique,
            reference=f"registry:{f.reference_registry}"
            if f.reference_registry
            else "identity:token"
            if f.identity_token
            else None,
        )
        for f in compiled.fields.values()
    ]
