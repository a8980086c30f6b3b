"""Digital registries: schema-driven, versioned, audited registries with a GovStack-compatible
API. An administrator defines a registry by a JSON Schema with field marks (personal, indexed,
unique, reference) and gets records with optimistic concurrency, a hash-chained history of every
change, a log of every read of personal data, search on real indexes, bulk import and export.
"""

from baobab.registries.bulk import export_records, import_records
from baobab.registries.domain import (
    Caller,
    Change,
    Disclosure,
    ImportReport,
    Operation,
    Page,
    Record,
    Registry,
    RegistryVersion,
    Revision,
    Right,
    Verification,
    Violation,
)
from baobab.registries.examples import example_schema
from baobab.registries.formats import Row, read_csv, read_jsonl, write_csv, write_jsonl
from baobab.registries.schema import RegistrySchema, compile_schema, parse_schema
from baobab.registries.services import REGISTRIES_SCOPES, RegistryService

__all__ = [
    "REGISTRIES_SCOPES",
    "Caller",
    "Change",
    "Disclosure",
    "ImportReport",
    "Operation",
    "Page",
    "Record",
    "Registry",
    "RegistrySchema",
    "RegistryService",
    "RegistryVersion",
    "Revision",
    "Right",
    "Row",
    "Verification",
    "Violation",
    "compile_schema",
    "example_schema",
    "export_records",
    "import_records",
    "parse_schema",
    "read_csv",
    "read_jsonl",
    "write_csv",
    "write_jsonl",
]
