"""Canonical JSON and parsing through orjson give exactly the standard library's results: the
same bytes as the kernel's ``canonical_json`` for every JSON value (floats of every magnitude,
integers beyond 64 bits, NaN, escapes), and the same values as ``json.loads``."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.kernel.hashchain import canonical_json
from baobab.registries.jsontext import canonical, canonical_bytes, parse_canonical

# text without lone surrogates, which no UTF-8 document can hold
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
numbers = (
    st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.floats(min_value=1e15, max_value=1e20)
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(text, json_values, max_size=6))
def test_canonical_bytes_are_the_kernels(data: dict[str, Any]) -> None:
    assert canonical_bytes(data) == canonical_json(data)
    assert canonical(data) == canonical_json(data).decode()


def test_floats_of_every_magnitude_are_written_as_python_writes_them() -> None:
    rng = random.Random(7)
    values = [
        rng.uniform(1, 10) * 10.0**exponent for exponent in range(-320, 309) for _ in range(20)
    ]
    values += [struct.unpack(">d", rng.randbytes(8))[0] for _ in range(20_000)]
    values += [1e-5, 9.999e-5, 1e-4, 1e-7, 2.5e-9, 1e15, 9999999999999998.0, 1e16, 5e-324]
    values += [-v for v in values]
    for value in values:
        assert canonical_bytes({"v": value, "w": [value]}) == canonical_json(
            {"v": value, "w": [value]}
        ), value


@pytest.mark.parametrize(
    "data",
    [
        {"nan": math.nan, "inf": math.inf, "minus": -math.inf},
        {"big": 2**64, "small": -(2**63) - 1},
        {1: "a key that is not a string"},
        {
            "a": [
                [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        [
                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                        1
                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            ]
        },
        {"text": "semi-permanent Tambarare-08 0.00001 1e-7 null", "n": None},
        {"escapes": '"\\\n\r\t\b\f\x00\x1f\x7f\u2028 é 😀'},
    ],
)
def test_what_orjson_writes_otherwise_is_written_by_the_standard_library(
    data: dict[Any, Any],
) -> None:
    assert canonical_bytes(data) == canonical_json(data)


def test_what_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        canonical_bytes({"a": {1, 2}})
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes({"a": "\ud800"})


@given(st.dictionaries(text, json_values, max_size=6), st.sampled_from([None, 2]))
def test_parsing_gives_the_standard_librarys_value_and_canonical_text(
    data: dict[str, Any], indent: int | None
) -> None:
    document = json.dumps(data, indent=indent, ensure_ascii=indent is None)
    parsed, encoded = parse_canonical(document)
    expected = json.loads(document)
    assert encoded == canonical_json(expected)
    assert canonical_json(parsed) == encoded  # equal types too: 10**19 is not 1e+19


@pytest.mark.parametrize(
    "document",
    [
        '{"big": 18446744073709551616, "small": -9223372036854775809, "e": "1e+19"}',
        '{"long": 123456789012345678901234567890}',
        '{"nan": NaN, "inf": Infinity, "huge": 1e400}',
        '[1, 2.5, "x"]',
    ],
)
def test_documents_orjson_reads_otherwise_are_read_by_the_standard_library(
    document: str,
) -> None:
    parsed, encoded = parse_canonical(document)
    assert repr(parsed) == repr(json.loads(document))
    assert encoded == json.dumps(
        json.loads(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode(errors="surrogatepass")


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(UnicodeEncodeError):
        parse_canonical('{"lone": "\\ud800"}')


@pytest.mark.parametrize("document", ['{"a": }', '{"a": 1', "", "[1,]", '{"a": 1} x'])
def test_a_bad_document_raises_the_standard_librarys_error(document: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(document)
    with pytest.raises(json.JSONDecodeError) as got:
        parse_canonical(document)
    assert got.value.msg == expected.value.msg
