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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from baobab.registries.domain import InvalidSchema, Violation, canonical

Check = Callable[[Any, str, list[Violation]], None]

_ANNOTATIONS = {"title", "description", "examples", "default", "$comment", "$schema", "$id"}
_MARKS = {"x-id", "x-personal", "x-indexed", "x-unique", "x-reference"}
_COMMON = {"type", "enum", "const"}
_BY_TYPE = {
    "string": {"minLength", "maxLength", "pattern", "format"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "boolean": set(),
    "null": set(),
    "array": {"items", "minItems", "maxItems"},
    "object": {"properties", "required", "additionalProperties"},
}
_SCALARS = ("string", "integer", "number", "boolean")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
INDEXED_MAX_LENGTH = 256


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
    _index_plan: tuple[tuple[str, Callable[[Any], str]], ...]
    _unique_plan: tuple[tuple[str, Callable[[Any], str]], ...]

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

    def unique_entries(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, encoded value)`` of every unique field present in ``data``."""
        return [
            (name, encode(value))
            for name, encode in self._unique_plan
            if (value := data.get(name)) is not None
        ]


def _encoder(spec: FieldSpec) -> Callable[[Any], str]:
    kind = spec.scalar_type
    if kind == "string":
        return str
    return lambda value: encode_value(spec, value)


def encode_value(spec: FieldSpec, value: Any) -> str:
    """An indexed value as text that sorts like the value: strings as they are, booleans as
    ``false``/``true``, numbers as the order-preserving hex of their IEEE 754 double."""
    kind = spec.scalar_type
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "number"):
        bits = struct.unpack(">Q", struct.pack(">d", float(value)))[0]
        bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
        return f"{bits:016x}"
    return str(value)


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
    check = _compile(document, "", top=True)
    required = frozenset(document.get("required", ()))
    plan = tuple((f.name, _encoder(f)) for f in fields.values() if f.indexed and f.name != id_field)
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
        _fast(document),
        plan,
        unique,
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
    types = _types(node, name)
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


def _types(node: Mapping[str, Any], where: str) -> tuple[str, ...]:
    declared = node.get("type")
    if declared is None:
        raise InvalidSchema(f"{where or 'root'}: every node declares its 'type'")
    types = (declared,) if isinstance(declared, str) else tuple(declared)
    if not types or any(t not in _BY_TYPE for t in types) or len(set(types)) != len(types):
        raise InvalidSchema(f"{where or 'root'}: unsupported type {declared!r}")
    return types


def _compile(node: Any, where: str, *, top: bool = False) -> Check:
    if not isinstance(node, Mapping):
        raise InvalidSchema(f"{where or 'root'}: a schema node is an object")
    types = _types(node, where)
    allowed = _ANNOTATIONS | _COMMON | set().union(*(_BY_TYPE[t] for t in types))
    if top or (where and "." not in where and "[" not in where):
        allowed |= _MARKS
    unknown = set(node) - allowed
    if unknown:
        raise InvalidSchema(
            f"{where or 'root'}: unsupported keyword(s) {', '.join(sorted(unknown))}"
        )
    label = where or "record"
    checks: list[Check] = []

    if "enum" in node or "const" in node:
        options = list(node["enum"]) if "enum" in node else [node["const"]]
        if not options:
            raise InvalidSchema(f"{label}: enum must not be empty")
        shown = ", ".join(str(o) for o in options[:10])
        if all(isinstance(o, str) for o in options):
            strings = frozenset(options)

            def check_enum(value: Any, path: str, out: list[Violation]) -> None:
                if not isinstance(value, str) or value not in strings:
                    out.append(Violation(path or label, f"must be one of: {shown}"))

        else:
            keyed = {(type(v).__name__, canonical({"v": v})) for v in options}

            def check_enum(value: Any, path: str, out: list[Violation]) -> None:
                if (type(value).__name__, canonical({"v": value})) not in keyed:
                    out.append(Violation(path or label, f"must be one of: {shown}"))

        checks.append(check_enum)

    if "string" in types:
        checks.extend(_string_checks(node, label))
    if "integer" in types or "number" in types:
        checks.extend(_number_checks(node, label))
    if "array" in types:
        checks.extend(_array_checks(node, where, label))
    if "object" in types:
        checks.extend(_object_checks(node, where, label))

    type_test = _type_test(types)
    expected = " or ".join(types)
    pipeline = tuple(checks)

    def check(value: Any, path: str, out: list[Violation]) -> None:
        if not type_test(value):
            out.append(Violation(path or label, f"must be {expected}"))
            return
        for step in pipeline:
            step(value, path, out)

    return check


def _type_test(types: Sequence[str]) -> Callable[[Any], bool]:
    tests: list[Callable[[Any], bool]] = []
    for kind in types:
        if kind == "string":
            tests.append(lambda v: isinstance(v, str))
        elif kind == "integer":
            tests.append(
                lambda v: (
                    (isinstance(v, int) and not isinstance(v, bool))
                    or (isinstance(v, float) and v.is_integer())
                )
            )
        elif kind == "number":
            tests.append(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        elif kind == "boolean":
            tests.append(lambda v: isinstance(v, bool))
        elif kind == "null":
            tests.append(lambda v: v is None)
        elif kind == "array":
            tests.append(lambda v: isinstance(v, list))
        else:
            tests.append(lambda v: isinstance(v, dict))
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def _int_keyword(node: Mapping[str, Any], name: str, label: str) -> int | None:
    value = node.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidSchema(f"{label}: {name} is a non-negative integer")
    return value


def _string_checks(node: Mapping[str, Any], label: str) -> list[Check]:
    checks: list[Check] = []
    low, high = _int_keyword(node, "minLength", label), _int_keyword(node, "maxLength", label)
    if low is not None or high is not None:
        lo, hi = low or 0, high if high is not None else 10**12

        def check_length(value: Any, path: str, out: list[Violation]) -> None:
            if isinstance(value, str) and not lo <= len(value) <= hi:
                out.append(Violation(path or label, f"length must be between {lo} and {hi}"))

        checks.append(check_length)
    if "pattern" in node:
        try:
            pattern = re.compile(node["pattern"])
        except (re.error, TypeError) as exc:
            raise InvalidSchema(f"{label}: invalid pattern: {exc}") from exc

        def check_pattern(value: Any, path: str, out: list[Violation]) -> None:
            if isinstance(value, str) and pattern.search(value) is None:
                out.append(Violation(path or label, f"must match {pattern.pattern}"))

        checks.append(check_pattern)
    if "format" in node:
        checks.append(_format_check(node["format"], label))
    return checks


def _format_check(name: Any, label: str) -> Check:
    def valid(value: str) -> bool:
        try:
            if name == "date":
                date.fromisoformat(value)
                return len(value) == 10
            if name == "date-time":
                return datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False
        return _EMAIL.fullmatch(value) is not None

    if name not in ("date", "date-time", "email"):
        raise InvalidSchema(f"{label}: format must be date, date-time or email, got {name!r}")

    def check_format(value: Any, path: str, out: list[Violation]) -> None:
        if isinstance(value, str) and not valid(value):
            out.append(Violation(path or label, f"must be a valid {name}"))

    return check_format


def _number_checks(node: Mapping[str, Any], label: str) -> list[Check]:
    bounds: list[tuple[str, float]] = []
    for name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if name in node:
            bound = node[name]
            if not isinstance(bound, int | float) or isinstance(bound, bool):
                raise InvalidSchema(f"{label}: {name} is a number")
            bounds.append((name, bound))
    if not bounds:
        return []
    tests = {
        "minimum": (lambda v, b: v >= b, "at least"),
        "maximum": (lambda v, b: v <= b, "at most"),
        "exclusiveMinimum": (lambda v, b: v > b, "more than"),
        "exclusiveMaximum": (lambda v, b: v < b, "less than"),
    }
    rules: list[tuple[Callable[[Any, Any], bool], Any, str]] = [
        (tests[name][0], bound, f"must be {tests[name][1]} {bound}") for name, bound in bounds
    ]

    def check_bounds(value: Any, path: str, out: list[Violation]) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            for test, bound, message in rules:
                if not test(value, bound):
                    out.append(Violation(path or label, message))

    return [check_bounds]


def _array_checks(node: Mapping[str, Any], where: str, label: str) -> list[Check]:
    checks: list[Check] = []
    low, high = _int_keyword(node, "minItems", label), _int_keyword(node, "maxItems", label)
    if low is not None or high is not None:
        lo, hi = low or 0, high if high is not None else 10**12

        def check_count(value: Any, path: str, out: list[Violation]) -> None:
            if isinstance(value, list) and not lo <= len(value) <= hi:
                out.append(Violation(path or label, f"must have {lo} to {hi} items"))

        checks.append(check_count)
    if "items" in node:
        item = _compile(node["items"], f"{where}[]")

        def check_items(value: Any, path: str, out: list[Violation]) -> None:
            if isinstance(value, list):
                for index, element in enumerate(value):
                    item(element, f"{path or label}[{index}]", out)

        checks.append(check_items)
    return checks


def _object_checks(node: Mapping[str, Any], where: str, label: str) -> list[Check]:
    properties = node.get("properties", {})
    if not isinstance(properties, Mapping):
        raise InvalidSchema(f"{label}: properties is an object")
    children = {
        name: _compile(child, f"{where}.{name}" if where else name)
        for name, child in properties.items()
    }
    required = node.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        raise InvalidSchema(f"{label}: required lists declared properties only")
    additional = node.get("additionalProperties", True)
    if not isinstance(additional, bool):
        raise InvalidSchema(f"{label}: additionalProperties must be true or false")

    def check_object(value: Any, path: str, out: list[Violation]) -> None:
        if not isinstance(value, dict):
            return
        base = f"{path}." if path else ""
        for name in required:
            if name not in value:
                out.append(Violation(f"{base}{name}", "is required"))
        for name, element in value.items():
            child = children.get(name)
            if child is not None:
                child(element, f"{base}{name}", out)
            elif not additional:
                out.append(Violation(f"{base}{name}", "is not a field of this registry"))

    return [check_object]


def identity_token_ok(value: str) -> bool:
    """An identity token is 8-128 URL-safe characters (the identity block issues them)."""
    return _TOKEN.fullmatch(value) is not None


# --- the fast path: the same rules as a yes/no answer, no messages ---------------------------


def _fast(node: Mapping[str, Any]) -> Callable[[Any], bool]:  # noqa: PLR0912, PLR0915
    """A predicate equivalent to :func:`_compile` (which has already checked ``node``)."""
    types = _types(node, "")
    tests: list[Callable[[Any], bool]] = []
    if "enum" in node or "const" in node:
        options = list(node["enum"]) if "enum" in node else [node["const"]]
        if all(isinstance(o, str) for o in options):
            strings = frozenset(options)
            tests.append(lambda v: type(v) is str and v in strings)
        else:
            keyed = {(type(v).__name__, canonical({"v": v})) for v in options}
            tests.append(lambda v: (type(v).__name__, canonical({"v": v})) in keyed)
    if "string" in types:
        lo, hi = node.get("minLength", 0), node.get("maxLength")
        if lo or hi is not None:
            top = hi if hi is not None else 10**12
            tests.append(lambda v: not isinstance(v, str) or lo <= len(v) <= top)
        if "pattern" in node:
            search = re.compile(node["pattern"]).search
            tests.append(lambda v: not isinstance(v, str) or search(v) is not None)
        if "format" in node:
            slow = _format_check(node["format"], "")

            def formatted(v: Any) -> bool:
                out: list[Violation] = []
                slow(v, "", out)
                return not out

            tests.append(formatted)
    if "integer" in types or "number" in types:
        bounds = [
            (name, node[name])
            for name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
            if name in node
        ]
        if bounds:
            low = max((b for n, b in bounds if n == "minimum"), default=None)
            high = min((b for n, b in bounds if n == "maximum"), default=None)
            xlow = max((b for n, b in bounds if n == "exclusiveMinimum"), default=None)
            xhigh = min((b for n, b in bounds if n == "exclusiveMaximum"), default=None)

            def bounded(v: Any) -> bool:
                if not isinstance(v, int | float) or isinstance(v, bool):
                    return True
                return (
                    (low is None or v >= low)
                    and (high is None or v <= high)
                    and (xlow is None or v > xlow)
                    and (xhigh is None or v < xhigh)
                )

            tests.append(bounded)
    if "array" in types:
        lo_items, hi_items = node.get("minItems", 0), node.get("maxItems")
        if lo_items or hi_items is not None:
            top_items = hi_items if hi_items is not None else 10**12
            tests.append(lambda v: not isinstance(v, list) or lo_items <= len(v) <= top_items)
        if "items" in node:
            item = _fast(node["items"])
            tests.append(lambda v: not isinstance(v, list) or all(item(e) for e in v))
    if "object" in types:
        children = {name: _fast(child) for name, child in node.get("properties", {}).items()}
        required = tuple(node.get("required", ()))
        additional = node.get("additionalProperties", True)

        def object_ok(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name in required:
                if name not in v:
                    return False
            for name, element in v.items():
                child = children.get(name)
                if child is None:
                    if not additional:
                        return False
                elif not child(element):
                    return False
            return True

        tests.append(object_ok)
    type_test = _type_test(types)
    if not tests:
        return type_test
    if len(tests) == 1:
        only = tests[0]
        return lambda v: type_test(v) and only(v)
    steps = tuple(tests)
    return lambda v: type_test(v) and all(t(v) for t in steps)
