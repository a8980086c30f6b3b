"""The registries' errors, in one place: each has a stable code and a title (the error envelope
of :mod:`baobab.kernel.errors`)."""

from __future__ import annotations

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidSchema(InvalidInput):
    code = "registries.invalid_schema"
    title = "Invalid registry schema"


class InvalidDefinition(InvalidInput):
    code = "registries.invalid_definition"
    title = "Invalid registry definition"


class SchemaViolation(InvalidInput):
    """A record breaks its registry's schema; ``extra["violations"]`` lists field and reason."""

    code = "registries.schema_violation"
    title = "Record does not match the registry's schema"


class UnknownRegistry(NotFound):
    code = "registries.unknown_registry"
    title = "Unknown registry"


class UnknownVersion(NotFound):
    code = "registries.unknown_version"
    title = "Unknown registry version"


class VersionNotCurrent(Conflict):
    code = "registries.version_not_current"
    title = "Writes go to the current version only"


class DuplicateRegistry(Conflict):
    code = "registries.duplicate_registry"
    title = "Registry already defined"


class DuplicateVersion(Conflict):
    code = "registries.duplicate_version"
    title = "Registry version already published"


class BreakingSchemaChange(Conflict):
    """A new version would make existing records invalid; ``extra["violations"]`` names them."""

    code = "registries.breaking_schema_change"
    title = "Schema change would break existing records"


class UnknownRecord(NotFound):
    code = "registries.unknown_record"
    title = "No such record"


class DuplicateRecord(Conflict):
    code = "registries.duplicate_record"
    title = "A record with this id exists"


class UniqueViolation(Conflict):
    code = "registries.unique_violation"
    title = "Value already taken by another record"


class StaleVersion(Conflict):
    code = "registries.stale_version"
    title = "The record changed since it was read"


class VersionRequired(InvalidInput):
    code = "registries.version_required"
    title = "The record version read must be sent"


class ReasonRequired(InvalidInput):
    code = "registries.reason_required"
    title = "A reason is required"


class AmbiguousQuery(Conflict):
    code = "registries.ambiguous_query"
    title = "The query matches more than one record"


class FieldNotSearchable(InvalidInput):
    code = "registries.field_not_searchable"
    title = "Field is not indexed"


class UnknownField(InvalidInput):
    code = "registries.unknown_field"
    title = "Unknown field"


class BrokenReference(InvalidInput):
    code = "registries.broken_reference"
    title = "Referenced record does not exist"


class ImportRejected(InvalidInput):
    """A bulk import had bad rows and nothing was imported; ``extra["report"]`` lists them."""

    code = "registries.import_rejected"
    title = "Import rejected"


class NoRight(Forbidden):
    code = "registries.no_right"
    title = "No right to this operation on this registry"


class PersonalFieldDenied(Forbidden):
    code = "registries.personal_field_denied"
    title = "No right to personal fields of this registry"
