"""The JSON Schema subset of registry schemas (see :mod:`baobab.registries.schema` for the
keywords), compiled once into checks that report every violation with its path. A keyword
outside the subset is refused when the schema is compiled."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from baobab.registries.domain import Violation
from baobab.registries.errors import InvalidSchema
from baobab.registries.jsontext import canonical

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
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def types_of(node: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """The types a node declares (one or a list), each a supported one."""
    declared = node.get("type")
    if declared is None:
        raise InvalidSchema(f"{where or 'root'}: every node declares its 'type'")
    types = (declared,) if isinstance(declared, str) else tuple(declared)
    if not types or any(t not in _BY_TYPE for t in types) or len(set(types)) != len(types):
        raise InvalidSchema(f"{where or 'root'}: unsupported type {declared!r}")
    return types


def compile_checks(node: Any, where: str, *, top: bool = False) -> Check:
    """The check of a schema node at ``where`` (``top``: the root, whose properties carry marks)."""
    if not isinstance(node, Mapping):
        raise InvalidSchema(f"{where or 'root'}: a schema node is an object")
    types = types_of(node, where)
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


def format_test(name: str) -> Callable[[str], bool]:
    """Whether a string is a valid ``date``, ``date-time`` or ``email``."""

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

    return valid


def _format_check(name: Any, label: str) -> Check:
    if name not in ("date", "date-time", "email"):
        raise InvalidSchema(f"{label}: format must be date, date-time or email, got {name!r}")
    valid = format_test(name)

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
        item = compile_checks(node["items"], f"{where}[]")

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
        name: compile_checks(child, f"{where}.{name}" if where else name)
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
