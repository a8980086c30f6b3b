"""Per-field comparison levels: how well two prepared records agree on each field.

Each field has an ordered tuple of levels, most specific first; a comparison of two records is
one level index per field, or :data:`MISSING` when either side lacks the field (missing
information is neither evidence for nor against a match). Given and family names are compared
both ways round - a record with the two swapped is a common clerical error - and the caller
chooses the orientation (see :class:`~baobab.identity.matching.model.MatchModel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from baobab.identity.matching.dates import BIRTH_DATE_LEVELS, birth_date_level
from baobab.identity.matching.records import NameForms, PreparedRecord, name_forms
from baobab.identity.matching.similarity import jaro_winkler, within_one_edit

__all__ = [
    "FIELDS",
    "FIELD_LEVELS",
    "MISSING",
    "NAME_LEVELS",
    "Comparison",
    "compare",
    "compare_names",
]

MISSING = -1
NAME_LEVELS = ("exact", "phonetic", "nickname", "close", "similar", "weak", "different")
OTHER_NAME_LEVELS = ("exact", "similar", "different")
FIELD_LEVELS: Mapping[str, tuple[str, ...]] = {
    "given_name": NAME_LEVELS,
    "family_name": NAME_LEVELS,
    "other_names": OTHER_NAME_LEVELS,
    "birth_date": BIRTH_DATE_LEVELS,
    "sex": ("agree", "disagree"),
    "location": ("exact", "near", "different"),
    "phone": ("exact", "close", "different"),
}
FIELDS = tuple(FIELD_LEVELS)
GIVEN, FAMILY, OTHER, BIRTH, SEX, LOCATION, PHONE = range(len(FIELDS))

_CLOSE = 0.92
_SIMILAR = 0.85
_WEAK = 0.70


class Comparison(NamedTuple):
    """Level indexes per field (in :data:`FIELDS` order) and whether names were swapped."""

    levels: tuple[int, ...]
    swapped: bool

    def explain(self) -> dict[str, str]:
        """Level names per field, plus ``names: swapped`` when the swapped orientation was used."""
        named = {
            field: ("missing" if level == MISSING else FIELD_LEVELS[field][level])
            for field, level in zip(FIELDS, self.levels, strict=True)
        }
        if self.swapped:
            named["names"] = "swapped"
        return named


def compare_names(left: NameForms | None, right: NameForms | None) -> int:
    """The :data:`NAME_LEVELS` index of two prepared names, or :data:`MISSING` (symmetric)."""
    if left is None or right is None:
        return MISSING
    left_text, right_text = left.text, right.text
    if left_text is right_text or left_text == right_text:
        return 0
    # Populations repeat names, so the level of a pair of spellings is remembered.
    if left_text < right_text:
        return _name_level(left_text, right_text)
    return _name_level(right_text, left_text)


@lru_cache(maxsize=1 << 20)
def _name_level(left_text: str, right_text: str) -> int:
    left, right = name_forms(left_text), name_forms(right_text)
    if left is None or right is None:  # pragma: no cover - texts are normalised, non-empty
        return MISSING
    if not left.keys.isdisjoint(right.keys):
        return 1
    if not left.canonical.isdisjoint(right.canonical):
        return 2
    if within_one_edit(left_text, right_text) or (
        len(left.words) != len(right.words)
        and (left.words <= right.words or right.words <= left.words)
    ):
        return 3
    similarity = jaro_winkler(left_text, right_text)
    if similarity >= _CLOSE:
        return 3
    if similarity >= _SIMILAR:
        return 4
    if similarity >= _WEAK:
        return 5
    return 6


def _compare_other(left: NameForms | None, right: NameForms | None) -> int:
    level = compare_names(left, right)
    if level == MISSING:
        return MISSING
    if level == 0:
        return 0
    return 1 if level <= 4 else 2


def compare(left: PreparedRecord, right: PreparedRecord, *, swapped: bool = False) -> Comparison:
    """Compare every field of two prepared records; ``swapped`` compares ``left``'s given name
    with ``right``'s family name and the other way round."""
    if swapped:
        given = compare_names(left.given, right.family)
        family = compare_names(left.family, right.given)
    else:
        given = compare_names(left.given, right.given)
        family = compare_names(left.family, right.family)
    sex = MISSING if left.sex is None or right.sex is None else 0 if left.sex == right.sex else 1
    if left.location is None or right.location is None:
        location = MISSING
    elif left.location == right.location:
        location = 0
    elif (
        left.location_parent is not None and left.location_parent == right.location_parent
    ) or within_one_edit(left.location, right.location):
        location = 1
    else:
        location = 2
    if left.phone is None or right.phone is None:
        phone = MISSING
    elif left.phone == right.phone:
        phone = 0
    else:
        phone = 1 if within_one_edit(left.phone, right.phone) else 2
    levels = (
        given,
        family,
        _compare_other(left.other, right.other),
        birth_date_level(left.birth, right.birth),
        sex,
        location,
        phone,
    )
    return Comparison(levels, swapped)
