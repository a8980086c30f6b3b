"""Dates of birth as registers hold them: full, year and month, or year only.

``compare_birth_dates`` grades two dates into one level, the most specific that holds:

- ``exact`` - the same full date;
- ``day_month_swap`` - day and month swapped (``1990-03-07`` against ``1990-07-03``), the most
  common clerical error where day-first and month-first forms meet;
- ``one_part`` - full dates on both sides agreeing in two of year, month, day (one typo);
- ``year_only`` - at least one side is partial and every part both sides have agrees;
- ``near_year`` - years within two of each other, nothing else agreeing (an estimated age);
- ``different`` - none of the above; ``missing`` - a side has no date.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "BIRTH_DATE_LEVELS",
    "BirthDate",
    "birth_date_level",
    "compare_birth_dates",
    "parse_birth_date",
]

BIRTH_DATE_LEVELS = (
    "exact",
    "day_month_swap",
    "one_part",
    "year_only",
    "near_year",
    "different",
)
_EXACT, _SWAP, _ONE_PART, _YEAR_ONLY, _NEAR_YEAR, _DIFFERENT = range(len(BIRTH_DATE_LEVELS))
_PATTERN = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_NEAR_YEARS = 2


class BirthDate(NamedTuple):
    """A possibly partial date of birth; ``month`` and ``day`` are 0 when unknown."""

    year: int
    month: int
    day: int


def parse_birth_date(text: str | None) -> BirthDate | None:
    """``"YYYY-MM-DD"``, ``"YYYY-MM"`` or ``"YYYY"`` as a :class:`BirthDate`; ``None`` if unusable.

    Matching is forgiving by design: a value that does not parse counts as missing rather than
    failing the comparison (enrolment validates dates before they get here).
    """
    if not text:
        return None
    found = _PATTERN.fullmatch(text.strip())
    if found is None:
        return None
    year = int(found.group(1))
    month = int(found.group(2) or 0)
    day = int(found.group(3) or 0)
    if not 1 <= month <= 12:
        month, day = 0, 0
    if not 1 <= day <= 31:
        day = 0
    return BirthDate(year, month, day)


def compare_birth_dates(left: BirthDate | None, right: BirthDate | None) -> str:
    """The level of agreement between two dates of birth (symmetric), see the module docstring."""
    level = birth_date_level(left, right)
    return "missing" if level < 0 else BIRTH_DATE_LEVELS[level]


def birth_date_level(left: BirthDate | None, right: BirthDate | None) -> int:
    """The :data:`BIRTH_DATE_LEVELS` index of two dates of birth, or -1 when one is missing."""
    if left is None or right is None:
        return -1
    full = left.day and right.day
    if full:
        if left == right:
            return _EXACT
        if left.year == right.year and left.month == right.day and left.day == right.month:
            return _SWAP
        agreeing = (left.year == right.year) + (left.month == right.month) + (left.day == right.day)
        if agreeing == 2:
            return _ONE_PART
    elif left.year == right.year and (
        not left.month or not right.month or left.month == right.month
    ):
        return _YEAR_ONLY
    if abs(left.year - right.year) <= _NEAR_YEARS:
        return _NEAR_YEAR
    return _DIFFERENT
