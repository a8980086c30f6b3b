"""Per-field comparison levels."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given

from baobab.identity.matching import PersonRecord
from baobab.identity.matching.comparisons import FIELDS, NAME_LEVELS, compare, compare_names
from baobab.identity.matching.records import name_forms, prepare
from tests.unit.identity.matching.records import AMINA, records


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("Amina", "AMÍNA", "exact"),
        ("Mohammed", "Muhammad", "phonetic"),
        ("Aleksandr", "Александр", "exact"),
        ("Bill", "William", "nickname"),
        ("Sasha", "Alexander", "nickname"),
        ("Wanjiru", "Wamjiru", "close"),
        ("Maria", "Maria Jose", "nickname"),  # the same first name
        ("Marie Anne", "Anne", "close"),
        ("Jonathan", "Johnathon", "phonetic"),
        ("Njoroge", "Njorogw", "close"),
        ("Christina", "Kristine", "weak"),
        ("Amina", "Dennis", "different"),
        ("Amina", None, "missing"),
    ],
)
def test_name_levels(left: str, right: str | None, level: str) -> None:
    found = compare_names(name_forms(left), name_forms(right))
    assert (NAME_LEVELS[found] if found >= 0 else "missing") == level


def test_every_field_of_a_record_against_itself_is_at_its_best_level() -> None:
    prepared = prepare(AMINA)
    assert compare(prepared, prepared).levels == (0,) * len(FIELDS)


def test_explain_names_every_field_and_the_swap() -> None:
    swapped = replace(AMINA, given_name=AMINA.family_name, family_name=AMINA.given_name)
    comparison = compare(prepare(AMINA), prepare(swapped), swapped=True)
    explained = comparison.explain()
    assert explained["given_name"] == "exact"
    assert explained["family_name"] == "exact"
    assert explained["names"] == "swapped"
    assert set(FIELDS) <= set(explained)


def test_location_and_phone_levels() -> None:
    near = replace(AMINA, location="KE-047-0302", phone="+254712345679")
    explained = compare(prepare(AMINA), prepare(near)).explain()
    assert explained["location"] == "near"
    assert explained["phone"] == "close"
    far = PersonRecord("far", "Amina", "Odhiambo", location="UG-1", phone="0700000000")
    explained = compare(prepare(AMINA), prepare(far)).explain()
    assert explained["location"] == "different"
    assert explained["phone"] == "different"
    assert explained["birth_date"] == "missing"


@given(records(), records())
def test_compare_is_symmetric(left: PersonRecord, right: PersonRecord) -> None:
    a, b = prepare(left), prepare(right)
    assert compare(a, b).levels == compare(b, a).levels
    assert compare(a, b, swapped=True).levels[2:] == compare(b, a, swapped=True).levels[2:]
