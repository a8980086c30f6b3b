"""Dates of birth: parsing partial dates and grading agreement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.identity.matching.dates import BirthDate, compare_birth_dates, parse_birth_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-03-07", BirthDate(1990, 3, 7)),
        ("1990-03", BirthDate(1990, 3, 0)),
        ("1990", BirthDate(1990, 0, 0)),
        (" 1990-03-07 ", BirthDate(1990, 3, 7)),
        ("1990-13-07", BirthDate(1990, 0, 0)),  # an impossible month keeps the year only
        ("1990-02-45", BirthDate(1990, 2, 0)),
        ("07/03/1990", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_birth_date(text: str | None, expected: BirthDate | None) -> None:
    assert parse_birth_date(text) == expected


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("1990-03-07", "1990-03-07", "exact"),
        ("1990-03-07", "1990-07-03", "day_month_swap"),
        ("1990-03-07", "1990-03-08", "one_part"),
        ("1990-03-07", "1991-03-07", "one_part"),
        ("1990-03-07", "1990", "year_only"),
        ("1990-03-07", "1990-03", "year_only"),
        ("1990", "1990", "year_only"),
        ("1990-03", "1990-04", "near_year"),
        ("1990-03-07", "1991-08-20", "near_year"),
        ("1990-03-07", "1975-03-08", "different"),
        ("1990-03-07", None, "missing"),
    ],
)
def test_compare_birth_dates(left: str, right: str | None, level: str) -> None:
    assert compare_birth_dates(parse_birth_date(left), parse_birth_date(right)) == level


dates = st.builds(
    BirthDate,
    st.integers(1900, 2025),
    st.integers(0, 12),
    st.integers(0, 28),
).map(lambda date: date if date.month else BirthDate(date.year, 0, 0))


@given(st.none() | dates, st.none() | dates)
def test_compare_birth_dates_is_symmetric(left: BirthDate | None, right: BirthDate | None) -> None:
    assert compare_birth_dates(left, right) == compare_birth_dates(right, left)
