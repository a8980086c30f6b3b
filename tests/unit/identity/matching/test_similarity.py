"""Jaro-Winkler and the one-edit test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.identity.matching.similarity import jaro_winkler, within_one_edit

names = st.text(alphabet="abcdefghij", max_size=12)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [  # Winkler's published examples
        ("martha", "marhta", 0.9611),
        ("dwayne", "duane", 0.84),
        ("dixon", "dicksonx", 0.8133),
        ("abc", "xyz", 0.0),
        ("", "abc", 0.0),
        ("same", "same", 1.0),
    ],
)
def test_jaro_winkler_known_values(left: str, right: str, expected: float) -> None:
    assert jaro_winkler(left, right) == pytest.approx(expected, abs=1e-4)


@given(names, names)
def test_jaro_winkler_is_symmetric_and_bounded(left: str, right: str) -> None:
    score = jaro_winkler(left, right)
    assert score == jaro_winkler(right, left)
    assert 0.0 <= score <= 1.0


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("maria", "maria", True),
        ("maria", "mara", True),  # deletion
        ("maria", "mariah", True),  # insertion
        ("maria", "marie", True),  # substitution
        ("maria", "mraia", True),  # adjacent transposition
        ("maria", "mirae", False),
        ("maria", "ma", False),
        ("ab", "ba", True),
    ],
)
def test_within_one_edit(left: str, right: str, expected: bool) -> None:
    assert within_one_edit(left, right) is expected
    assert within_one_edit(right, left) is expected


@given(names.filter(lambda name: len(name) >= 2), st.data())
def test_any_single_edit_is_within_one_edit(name: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(name) - 2))
    letter = data.draw(st.sampled_from("abcdefghij"))
    edited = data.draw(
        st.sampled_from(
            [
                name[:index] + name[index + 1 :],
                name[:index] + letter + name[index:],
                name[:index] + letter + name[index + 1 :],
                name[:index] + name[index + 1] + name[index] + name[index + 2 :],
            ]
        )
    )
    assert within_one_edit(name, edited)
