"""Registry schemas: a subset of JSON Schema 2020-12, compiled once into fast checks, plus
Baobab's field marks on top-level properties.

Supported keywords: ``type`` (one or a list), ``enum``, ``const``; for strings ``minLength``,
``maxLength``, ``pattern``, ``format`` (``date``, ``date-time``, ``email``); for numbers
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``; for arrays ``items``,
``minItems``, ``maxItems``; for objects ``properties``, ``required``, ``additionalProperties``
(a boolean); and the annotations ``title``, ``description``, ``examples``, ``default``,
``$comment``, ``$schema``, ``$id``. Anything else is refused when the schema is defined, so a
registry never silently ignores a rule its author wrote.

Marks (on top-level properties only):
``x-id`` the record's identifier (exactly one, a string; generated when a create omits it);
``x-personal`` personal data: hidden without the ``personal`` right, every read logged;
``x-indexed`` searchable, with a real index; ``x-unique`` no two live records share the value
(implies indexed); ``x-reference`` ``{"registry": "<code>"}`` (the id of a live record there) or
``{"identity": "token"}`` (a per-registry identity token, never a national ID number).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from baobab.registries.domain import Violation
from baobab.registries.errors import InvalidSchema
from baobab.registries.jsontext import canonical
from baobab.registries.predicate import compile_predicate
from baobab.registries.validation import Check, compile_checks, format_test, types_of

_SCALARS = ("string", "integer", "number", "boolean")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
INDEXED_MAX_LENGTH = 256
MAX_INDEXED = 8  # indexed fields of one registry (the id aside): the store keeps a column for each
_NO_VALUES: tuple[None, ...] = (None,) * MAX_INDEXED


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A top-level property and its marks."""

    name: str
    types: tuple[str, ...]
    personal: bool = False
    indexed: bool = False
    unique: bool = False
    reference_registry: str | None = None
    identity_token: bool = False

    @property
    def scalar_type(self) -> str | None:
        """The one scalar type of an indexed field (``null`` aside)."""
        kinds = [t for t in self.types if t != "null"]
        return kinds[0] if len(kinds) == 1 and kinds[0] in _SCALARS else None


@dataclass(frozen=True, slots=True)
class RegistrySchema:
    """A compiled registry schema: the document, its fields and marks, and its checks."""

    document: Mapping[str, Any]
    text: str
    id_field: str
    fields: Mapping[str, FieldSpec]
    required: frozenset[str]
    _check: Check
    _valid: Callable[[Any], bool]
    _index_plan: tuple[tuple[str, Callable[[Any], str]], ...]  # in the order of the slots
    _unique_plan: tuple[tuple[str, Callable[[Any], str]], ...]
    # each indexed field's slot (1 to MAX_INDEXED) in the order of their names: where the store
    # keeps its value; the slots change only with the index signature
    index_slots: Mapping[str, int]

    def validate(self, data: Any) -> list[Violation]:
        """Every way ``data`` breaks the schema; empty when it is valid. Valid records take a
        fast path that only answers yes or no; the reasons are worked out for the rest."""
        if self._valid(data):
            return []
        out: list[Violation] = []
        self._check(data, "", out)
        if not out:  # the two paths disagree: a bug, never let the record through unexplained
            out.append(Violation("", "does not match the schema"))
        return out

    @property
    def personal(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields.values() if f.personal)

    @property
    def indexed(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields.values() if f.indexed and f.name != self.id_field)

    @property
    def unique(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields.values() if f.unique and f.name != self.id_field)

    @property
    def references(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields.values() if f.reference_registry)

    def index_signature(self) -> tuple[tuple[str, str, bool], ...]:
        """What the index rows depend on; a new version that changes it rebuilds them."""
        return tuple(sorted((f.name, f.scalar_type or "", f.unique) for f in self.indexed))

    def index_entries(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, encoded value)`` of every indexed field present in ``data``."""
        return [
            (name, encode(value))
            for name, encode in self._index_plan
            if (value := data.get(name)) is not None
        ]

    def slot_values(self, data: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The encoded value of each indexed field of ``data`` in its slot, ``None`` for an
        absent field and the unused slots: ``MAX_INDEXED`` values."""
        values: list[str | None] = [
            None if (value := data.get(name)) is None else encode(value)
            for name, encode in self._index_plan
        ]
        return (*values, *_NO_VALUES[len(values) :])

    def unique_entries(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, encoded value)`` of every unique field present in ``data``."""
        return [
            (name, encode(value))
            for name, encode in self._unique_plan
            if (value := data.get(name)) is not None
        ]


def _encoder(spec: FieldSpec) -> Callable[[Any], str]:
    kind = spec.scalar_type
    if kind == "boolean":
        return _encode_boolean
    if kind in ("integer", "number"):
        return _encode_number
    return str


def encode_value(spec: FieldSpec, value: Any) -> str:
    """An indexed value as text that sorts like the value: strings as they are, booleans as
    ``false``/``true``, numbers as the order-preserving hex of their IEEE 754 double."""
    return _encoder(spec)(value)


def _encode_boolean(value: Any) -> str:
    return "true" if value else "false"


_DOUBLE = struct.Struct(">d")
_BITS = struct.Struct(">Q")


def _encode_number(value: Any) -> str:
    bits: int = _BITS.unpack(_DOUBLE.pack(float(value)))[0]
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return f"{bits:016x}"


def coerce_text(spec: FieldSpec, text: str) -> Any:
    """A value given as text (query string, CSV cell) converted to the field's type."""
    kind = spec.scalar_type
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError as exc:
        raise ValueError(f"expected {kind}, got {text!r}") from exc
    if kind == "boolean":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    return text


@lru_cache(maxsize=512)
def compile_schema(text: str) -> RegistrySchema:
    """Compile the canonical JSON text of a schema (cached: published versions never change)."""
    return _compile_document(json.loads(text))


def parse_schema(document: Any) -> RegistrySchema:
    """Check and compile a schema document given by a registry's author."""
    if not isinstance(document, Mapping):
        raise InvalidSchema("a registry schema is a JSON object")
    return compile_schema(canonical(document))


def _compile_document(document: Mapping[str, Any]) -> RegistrySchema:
    if document.get("type") != "object":
        raise InvalidSchema('the root of a registry schema must have "type": "object"')
    if document.get("additionalProperties") is not False:
        raise InvalidSchema(
            'the root must say "additionalProperties": false, so every field is declared and marked'
        )
    properties = document.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        raise InvalidSchema("the root must declare its fields in a non-empty 'properties'")
    fields = {name: _field(name, node) for name, node in properties.items()}
    ids = [f.name for f in fields.values() if _mark(properties[f.name], "x-id")]
    if len(ids) != 1:
        raise InvalidSchema('exactly one top-level property must carry "x-id": true')
    id_field = ids[0]
    if fields[id_field].types != ("string",):
        raise InvalidSchema(f"the id field {id_field!r} must be of type string")
    indexed = [f.name for f in fields.values() if f.indexed and f.name != id_field]
    if len(indexed) > MAX_INDEXED:
        raise InvalidSchema(
            f"at most {MAX_INDEXED} fields besides the id can be indexed or unique, "
            f"got {len(indexed)}: {', '.join(indexed)}"
        )
    check = compile_checks(document, "", top=True)
    required = frozenset(document.get("required", ()))
    plan = tuple((name, _encoder(fields[name])) for name in sorted(indexed))
    unique = tuple(
        (f.name, _encoder(f)) for f in fields.values() if f.unique and f.name != id_field
    )
    return RegistrySchema(
        document,
        canonical(document),
        id_field,
        fields,
        required,
        check,
        compile_predicate(document, canonical=canonical, formats=format_test),
        plan,
        unique,
        {name: slot for slot, name in enumerate(sorted(indexed), 1)},
    )


def _mark(node: Mapping[str, Any], name: str) -> bool:
    value = node.get(name, False)
    if not isinstance(value, bool):
        raise InvalidSchema(f"the mark {name!r} is true or false")
    return value


def _field(name: str, node: Any) -> FieldSpec:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        raise InvalidSchema(f"field names are letters, digits and '_' (1-64), got {name!r}")
    if not isinstance(node, Mapping):
        raise InvalidSchema(f"{name}: a property is described by an object")
    types = types_of(node, name)
    unique = _mark(node, "x-unique")
    indexed = _mark(node, "x-indexed") or unique or _mark(node, "x-id")
    spec = FieldSpec(
        name, types, personal=_mark(node, "x-personal"), indexed=indexed, unique=unique
    )
    if indexed:
        if spec.scalar_type is None:
            raise InvalidSchema(f"{name}: only a field of one scalar type can be indexed or unique")
        if spec.scalar_type == "string" and node.get("maxLength", 10**9) > INDEXED_MAX_LENGTH:
            raise InvalidSchema(
                f"{name}: an indexed string field needs maxLength of at most {INDEXED_MAX_LENGTH}"
            )
    reference = node.get("x-reference")
    if reference is None:
        return spec
    if not isinstance(reference, Mapping) or len(reference) != 1:
        raise InvalidSchema(
            f'{name}: x-reference is {{"registry": "<code>"}} or {{"identity": "token"}}'
        )
    if spec.scalar_type != "string":
        raise InvalidSchema(f"{name}: a reference is a string field")
    if "registry" in reference and isinstance(reference["registry"], str):
        return FieldSpec(**{**_as_dict(spec), "reference_registry": reference["registry"]})
    if reference.get("identity") == "token":
        return FieldSpec(**{**_as_dict(spec), "identity_token": True})
    raise InvalidSchema(
        f'{name}: x-reference is {{"registry": "<code>"}} or {{"identity": "token"}}'
    )


def _as_dict(spec: FieldSpec) -> dict[str, Any]:
    return {s: getattr(spec, s) for s in FieldSpec.__slots__}


def identity_token_ok(value: str) -> bool:
    """An identity token is 8-128 URL-safe characters (the identity block issues them)."""
    return _TOKEN.fullmatch(value) is not None
