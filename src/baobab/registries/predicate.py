"""The fast path of validation: a registry schema turned into the Python source of one yes/no
function per object or array node, compiled once per schema.

Most records of an import or a write are valid; for them the only question is yes or no. Closures
(one call per keyword per value) spend most of their time calling; straight-line source with the
checks inlined answers the same question about three times faster. The reasons for a refusal
are worked out by the explaining path in :mod:`baobab.registries.validation`, which has checked
the schema before this module sees it; a test holds the two paths to the same answers.

Nothing of the schema is pasted into the source: every value it holds (names, enums, bounds,
patterns) reaches the generated code as a named constant, so a schema cannot inject code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Any], bool]
_MISSING = object()

# each test tries the exact type first: values parsed from JSON are exactly these types, and
# ``type(v) is str`` costs less than ``isinstance``; subclasses still pass through the second part
_TYPE_TESTS = {
    "string": "(type({v}) is str or isinstance({v}, str))",
    "integer": (
        "(type({v}) is int or (isinstance({v}, int) and not isinstance({v}, bool))"
        " or (isinstance({v}, float) and {v}.is_integer()))"
    ),
    "number": (
        "(type({v}) is float or type({v}) is int"
        " or (isinstance({v}, (int, float)) and not isinstance({v}, bool)))"
    ),
    "boolean": "({v} is True or {v} is False)",
    "null": "{v} is None",
    "array": "(type({v}) is list or isinstance({v}, list))",
    "object": "(type({v}) is dict or isinstance({v}, dict))",
}


class _Source:
    """The module being generated: its functions, and the constants they refer to."""

    def __init__(self, canonical: Callable[[Any], str], formats: Callable[[str], Predicate]):
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {"_MISSING": _MISSING}
        self._canonical = canonical
        self._formats = formats
        self._names = 0

    def constant(self, value: Any) -> str:
        self._names += 1
        name = f"K{self._names}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        self._names += 1
        return f"v{self._names}"

    def function(self, node: Mapping[str, Any]) -> str:
        """Emit a function answering whether a value satisfies ``node``; return its name."""
        self._names += 1
        name = f"f{self._names}"
        body: list[str] = []
        self._checks(node, "v", body, "    ")
        self.lines.extend([f"def {name}(v):", *body, "    return True", ""])
        return name

    def _checks(self, node: Mapping[str, Any], v: str, out: list[str], pad: str) -> None:
        declared = node["type"]
        types = (declared,) if isinstance(declared, str) else tuple(declared)
        tests = " or ".join(_TYPE_TESTS[t].format(v=v) for t in types)
        out.append(f"{pad}if not ({tests}): return False")
        if "enum" in node or "const" in node:
            options = list(node["enum"]) if "enum" in node else [node["const"]]
            if all(isinstance(o, str) for o in options):
                strings = self.constant(frozenset(options))
                test = f"{v} not in {strings}"  # the type test above let only strings through
                if types != ("string",):
                    test = f"not isinstance({v}, str) or {test}"
                out.append(f"{pad}if {test}: return False")
            else:
                keyed = self.constant(
                    {(type(o).__name__, self._canonical({"v": o})) for o in options}
                )
                canon = self.constant(self._canonical)
                out.append(
                    f"{pad}if (type({v}).__name__, {canon}({{'v': {v}}})) not in {keyed}: "
                    "return False"
                )
        only = len(types) == 1
        if "string" in types:
            self._string(node, v, out, pad, guarded=not only)
        if "integer" in types or "number" in types:
            self._number(node, v, out, pad, guarded=not set(types) <= {"integer", "number"})
        if "array" in types:
            self._array(node, v, out, pad, guarded=not only)
        if "object" in types:
            self._object(node, v, out, pad, guarded=not only)

    def _guard(self, test: str, out: list[str], pad: str, guarded: bool) -> str:
        if not guarded:
            return pad
        out.append(f"{pad}if {test}:")
        return pad + "    "

    def _string(
        self, node: Mapping[str, Any], v: str, out: list[str], pad: str, guarded: bool
    ) -> None:
        low, high = node.get("minLength", 0), node.get("maxLength")
        steps: list[str] = []
        if low or high is not None:
            top = high if high is not None else 10**12
            steps.append(f"if not {low} <= len({v}) <= {top}: return False")
        if "pattern" in node:
            search = self.constant(re.compile(node["pattern"]).search)
            steps.append(f"if {search}({v}) is None: return False")
        if "format" in node:
            valid = self.constant(self._formats(node["format"]))
            steps.append(f"if not {valid}({v}): return False")
        if steps:
            inner = self._guard(f"isinstance({v}, str)", out, pad, guarded)
            out.extend(inner + step for step in steps)

    def _number(
        self, node: Mapping[str, Any], v: str, out: list[str], pad: str, guarded: bool
    ) -> None:
        compare = {
            "minimum": "<",
            "maximum": ">",
            "exclusiveMinimum": "<=",
            "exclusiveMaximum": ">=",
        }
        steps = [
            f"if {v} {compare[name]} {self.constant(node[name])}: return False"
            for name in compare
            if name in node
        ]
        if steps:
            test = f"isinstance({v}, (int, float)) and not isinstance({v}, bool)"
            inner = self._guard(test, out, pad, guarded)
            out.extend(inner + step for step in steps)

    def _array(
        self, node: Mapping[str, Any], v: str, out: list[str], pad: str, guarded: bool
    ) -> None:
        low, high = node.get("minItems", 0), node.get("maxItems")
        steps: list[str] = []
        if low or high is not None:
            top = high if high is not None else 10**12
            steps.append(f"if not {low} <= len({v}) <= {top}: return False")
        if "items" in node:
            item = self.function(node["items"])
            element = self.variable()
            steps.append(f"for {element} in {v}:")
            steps.append(f"    if not {item}({element}): return False")
        if steps:
            inner = self._guard(f"isinstance({v}, list)", out, pad, guarded)
            out.extend(inner + step for step in steps)

    def _object(
        self, node: Mapping[str, Any], v: str, out: list[str], pad: str, guarded: bool
    ) -> None:
        properties = node.get("properties", {})
        required = node.get("required", ())
        inner = self._guard(f"isinstance({v}, dict)", out, pad, guarded)
        if required:
            out.append(
                f"{inner}if not {v}.keys() >= {self.constant(frozenset(required))}: return False"
            )
        if node.get("additionalProperties", True) is False:
            out.append(
                f"{inner}if not {v}.keys() <= {self.constant(frozenset(properties))}: return False"
            )
        for name, child in properties.items():
            element = self.variable()
            out.append(f"{inner}{element} = {v}.get({self.constant(name)}, _MISSING)")
            out.append(f"{inner}if {element} is not _MISSING:")
            if _is_container(child):
                out.append(f"{inner}    if not {self.function(child)}({element}): return False")
            else:
                self._checks(child, element, out, inner + "    ")


def _is_container(node: Mapping[str, Any]) -> bool:
    declared = node["type"]
    types = (declared,) if isinstance(declared, str) else tuple(declared)
    return "array" in types or "object" in types


def compile_predicate(
    document: Mapping[str, Any],
    *,
    canonical: Callable[[Any], str],
    formats: Callable[[str], Predicate],
) -> Predicate:
    """The yes/no function of a schema ``document`` already checked by the schema compiler.
    ``canonical`` serialises enum values for comparison; ``formats`` gives the test of a
    ``format`` name."""
    source = _Source(canonical, formats)
    root = source.function(document)
    namespace = dict(source.constants)
    exec(compile("\n".join(source.lines), "<registry schema>", "exec"), namespace)  # noqa: S102 - generated from checked names only
    predicate: Predicate = namespace[root]
    return predicate
