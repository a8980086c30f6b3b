"""The schema compiler: supported keywords, marks, messages; the fast path agrees with the
explaining path; the index encoding sorts like the values; the revision hash of a bulk import
equals the kernel's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.kernel.hashchain import canonical_json, link_hash
from baobab.registries import example_schema, parse_schema
from baobab.registries.domain import RevisionHasher, revision_payload
from baobab.registries.errors import InvalidSchema
from baobab.registries.examples import households
from baobab.registries.jsontext import canonical, canonical_bytes
from baobab.registries.schema import FieldSpec, coerce_text, encode_value


def schema(**properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"id": {"type": "string", "maxLength": 40, "x-id": True}, **properties},
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "array"}, "root of a registry schema"),
        ({"type": "object", "properties": {"id": {"type": "string"}}}, "additionalProperties"),
        (schema(a={"type": "string", "oneOf": []}), "unsupported keyword(s) oneOf"),
        (schema(a={"type": "string", "minimum": 1}), "unsupported keyword(s) minimum"),
        (schema(a={"type": "date"}), "unsupported type"),
        (schema(a={"type": "string", "format": "uuid"}), "format must be"),
        (schema(a={"type": "string", "pattern": "("}), "invalid pattern"),
        (schema(a={"type": "string", "x-indexed": True}), "maxLength of at most 256"),
        (schema(a={"type": "array", "x-indexed": True}), "one scalar type"),
        (schema(a={"type": "string", "x-personal": "yes"}), "true or false"),
        (schema(a={"type": "string", "x-reference": {"person": 1}}), "x-reference is"),
        (
            schema(
                a={"type": "object", "properties": {"b": {"type": "string", "x-personal": True}}}
            ),
            "unsupported keyword(s) x-personal",
        ),
        (
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"a": {"type": "string"}},
            },
            "x-id",
        ),
        (schema(a={"type": "object", "required": ["zzz"]}), "required lists declared"),
    ],
)
def test_unsupported_schemas_are_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSchema, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_schema(document)


def test_violations_name_the_field_and_reason() -> None:
    compiled = parse_schema(example_schema("social-registry"))
    bad = {
        "household_id": "HH-1",
        "size": 0,
        "members": [{"name": "A", "birth_year": 1980, "sex": "Q", "relation": "head"}, 7],
        "location": {"lat": 95},
        "registered_on": "2025-02-30",
        "colour": "red",
    }
    found = {(v.field, v.reason) for v in compiled.validate(bad)}
    assert found == {
        ("region", "is required"),
        ("district", "is required"),
        ("village", "is required"),
        ("household_id", "must match ^HH-[0-9]{8}$"),
        ("size", "must be at least 1"),
        ("members[0].sex", "must be one of: F, M, X"),
        ("members[1]", "must be object"),
        ("location.lat", "must be at most 90"),
        ("location.lon", "is required"),
        ("registered_on", "must be a valid date"),
        ("colour", "is not a field of this registry"),
    }


def test_the_example_schemas_compile_with_their_marks() -> None:
    social = parse_schema(example_schema("social-registry"))
    assert social.id_field == "household_id"
    assert {f.name for f in social.unique} == {"head_identity"}
    assert social.personal == {"head_name", "head_identity", "phone", "location", "members"}
    beneficiary = parse_schema(example_schema("beneficiary-registry"))
    assert [f.reference_registry for f in beneficiary.references] == ["social-registry"]
    assert all(not social.validate(h) for h in households(200))


mutations = st.sampled_from(
    [
        ("size", -1),
        ("size", 2.5),
        ("size", True),
        ("region", ""),
        ("region", 3),
        ("poverty_score", 101),
        ("members", {}),
        ("phone", "0700"),
        ("registered_on", "x"),
        ("vulnerability", {"dwelling": "castle"}),
        ("vulnerability", {"orphans": -2}),
        ("location", {"lat": 1}),
        ("extra", 1),
        ("size", None),
    ]
)


@given(st.integers(min_value=0, max_value=500), st.lists(mutations, max_size=3))
def test_the_fast_path_agrees_with_the_explaining_path(seed: int, changes: list[Any]) -> None:
    compiled = parse_schema(example_schema("social-registry"))
    record = next(households(1, seed=seed))
    for name, value in changes:
        record[name] = value
    explained: list[Any] = []
    compiled._check(record, "", explained)
    assert compiled._valid(record) is (not explained)


numbers = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(numbers, numbers)
def test_encoded_numbers_sort_like_numbers(a: float, b: float) -> None:
    spec = FieldSpec("n", ("number",), indexed=True)
    ea, eb = encode_value(spec, a), encode_value(spec, b)
    if a < b:
        assert ea < eb
    elif a > b:
        assert ea > eb
    else:
        assert ea == eb or {a, b} == {0.0}  # -0.0 and 0.0 are equal but encode apart


def test_text_is_converted_to_the_field_type() -> None:
    assert coerce_text(FieldSpec("n", ("integer",)), "42") == 42
    assert coerce_text(FieldSpec("b", ("boolean",)), "Yes") is True
    with pytest.raises(ValueError, match="expected integer"):
        coerce_text(FieldSpec("n", ("integer",)), "4.5")


texts = st.text(max_size=30)


@given(
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), texts, st.none()), max_size=5),
    texts,
    texts,
    texts,
    st.integers(min_value=1, max_value=10**9),
)
def test_the_bulk_hash_equals_the_kernel_hash(
    data: dict[str, Any], actor: str, reason: str, record_id: str, sequence: int
) -> None:
    previous = "ab" * 32
    fields = {
        "registry": "social-registry",
        "change": "create",
        "schema_version": "1.0",
        "actor": actor,
        "at": "2026-01-15T09:00:00+00:00",
        "reason": reason,
    }
    expected = link_hash(
        previous,
        revision_payload(
            **fields, sequence=sequence, record_id=record_id, record_version=3, data=data
        ),
    )
    hasher = RevisionHasher(**fields)
    got = hasher.hash(
        previous,
        sequence=sequence,
        record_id=record_id,
        record_version=3,
        data=canonical_bytes(data),
    )
    assert got == expected
    assert json.loads(canonical(data)) == data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_canonical_text_is_the_kernels(data: dict[str, Any]) -> None:
    assert canonical(data).encode() == canonical_json(data)


def test_canonical_text_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        canonical({"a": {1, 2}})


def test_at_most_eight_fields_are_indexed_and_each_has_a_slot() -> None:
    fields = {f"f{n}": {"type": "integer", "x-indexed": True} for n in range(8)}
    compiled = parse_schema(schema(**fields, note={"type": "string"}))
    assert compiled.index_slots == {f"f{n}": n + 1 for n in range(8)}
    expected: list[str | None] = [None] * 8
    expected[2], expected[6] = (
        encode_value(compiled.fields[f], v) for f, v in (("f2", 7), ("f6", -1))
    )
    assert compiled.slot_values({"id": "a", "f2": 7, "f6": -1, "note": "x"}) == tuple(expected)
    fewer = parse_schema(schema(b={"type": "boolean", "x-unique": True}, a={"type": "integer"}))
    assert fewer.slot_values({"id": "a", "b": False}) == ("false", *(None,) * 7)
    with pytest.raises(InvalidSchema, match="at most 8 fields besides the id"):
        parse_schema(schema(**fields, f8={"type": "boolean", "x-unique": True}))
