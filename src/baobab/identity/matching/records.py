"""The demographic record matching compares, and the prepared form it is compared in.

A :class:`PersonRecord` is what enrolment hands over. :func:`prepare` computes once everything a
comparison needs (normal forms, phonetic keys, nickname forms, the parsed date, digits of the
phone), so comparing two records does no Unicode work and the gallery keeps only prepared records.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from baobab.identity.matching.dates import BirthDate, parse_birth_date
from baobab.identity.matching.names import canonical_forms, normalise_name, phonetic_key

__all__ = ["NameForms", "PersonRecord", "PreparedRecord", "prepare"]

_PHONE_DIGITS = 9  # national significant number: country code and trunk prefix dropped
_LOCATION_SEPARATORS = str.maketrans({"/": "-", ".": "-", ":": "-", "_": "-"})


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """Demographics of one enrolment or register row, as matching sees them.

    ``birth_date`` is ``"YYYY-MM-DD"``, ``"YYYY-MM"`` or ``"YYYY"``; ``location`` the code or name
    of the lowest administrative level known (hierarchical codes such as ``KE-047-0301`` let
    neighbouring areas count as near); any field may be ``None`` when unknown.
    """

    record_id: str
    given_name: str | None
    family_name: str | None
    other_names: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    location: str | None = None
    phone: str | None = None


class NameForms(NamedTuple):
    """One name, prepared: its normal form, its words, its phonetic key, its phonetic keys under
    every reading (``j`` is also read ``y``, as German and Slavic romanisations write it: *Jurij*
    is *Yuriy*), and the phonetic keys of its canonical forms (itself and the full names it is a
    nickname of)."""

    text: str
    words: frozenset[str]
    key: str
    keys: frozenset[str]
    canonical: frozenset[str]


class PreparedRecord(NamedTuple):
    """A record with every field in the form comparisons use; ``None`` where unknown."""

    record_id: str
    given: NameForms | None
    family: NameForms | None
    other: NameForms | None
    birth: BirthDate | None
    sex: str | None
    location: str | None
    location_parent: str | None
    phone: str | None


@lru_cache(maxsize=1 << 18)
def name_forms(raw: str | None) -> NameForms | None:
    """The prepared forms of one name; ``None`` when nothing usable is left after normalising."""
    if raw is None:
        return None
    text = normalise_name(raw)
    if not text:
        return None
    text = sys.intern(text)
    words = text.split()
    canonical = canonical_forms(text)
    if len(words) > 1:
        canonical = canonical | canonical_forms(words[0])
    key = phonetic_key(text)
    keys = (
        frozenset((key, phonetic_key(text.replace("j", "y")))) if "j" in text else frozenset((key,))
    )
    return NameForms(text, frozenset(words), key, keys, frozenset(map(phonetic_key, canonical)))


def _location(raw: str | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    parts = (
        " ".join(part.split()) for part in raw.casefold().translate(_LOCATION_SEPARATORS).split("-")
    )
    code = "-".join(part for part in parts if part)
    if not code:
        return None, None
    parent = code.rsplit("-", 1)[0] if "-" in code else None
    return sys.intern(code), (sys.intern(parent) if parent else None)


def _phone(raw: str | None) -> str | None:
    if raw is None:
        return None
    digits = "".join(char for char in raw if char.isdigit())
    return digits[-_PHONE_DIGITS:] if len(digits) >= 6 else None


def _sex(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().casefold()
    return sys.intern(value) if value else None


def prepare(record: PersonRecord) -> PreparedRecord:
    """Everything comparisons and blocking need from ``record``, computed once."""
    location, parent = _location(record.location)
    return PreparedRecord(
        record_id=record.record_id,
        given=name_forms(record.given_name),
        family=name_forms(record.family_name),
        other=name_forms(record.other_names),
        birth=parse_birth_date(record.birth_date),
        sex=_sex(record.sex),
        location=location,
        location_parent=parent,
        phone=_phone(record.phone),
    )
