"""The synthetic population: seeded, with the truth and the errors it promises."""

from __future__ import annotations

from collections import Counter

import pytest

from baobab.identity.matching.names import normalise_name
from baobab.identity.matching.population import SyntheticPopulation, generate_population


@pytest.fixture(scope="module")
def population() -> SyntheticPopulation:
    return generate_population(4000, seed=3)


def test_the_same_seed_gives_the_same_population() -> None:
    assert generate_population(300, seed=9) == generate_population(300, seed=9)
    assert generate_population(300, seed=9) != generate_population(300, seed=10)


def test_the_truth_covers_every_record_and_ids_are_unique(population: SyntheticPopulation) -> None:
    ids = [record.record_id for record in population.records]
    assert len(ids) == len(set(ids)) == len(population.person_of)
    assert 3600 <= len(ids) <= 4400
    people = Counter(population.person_of.values())
    duplicated = sum(1 for count in people.values() if count > 1)
    assert 0.1 < duplicated / len(people) < 0.3
    pairs = population.duplicate_pairs()
    assert all(population.person_of[a] == population.person_of[b] and a < b for a, b in pairs)


def test_twins_share_family_and_birth_date_but_not_given_name(
    population: SyntheticPopulation,
) -> None:
    records = {record.record_id: record for record in population.records}
    assert population.twins
    for left, right in population.twins:
        a, b = records[left], records[right]
        assert population.person_of[left] != population.person_of[right]
        assert a.given_name != b.given_name
        assert a.location == b.location


def test_scripts_errors_and_gaps_all_occur(population: SyntheticPopulation) -> None:
    records = population.records
    given = [record.given_name or "" for record in records]
    assert any("\u0400" <= char <= "\u04ff" for name in given for char in name)  # Cyrillic
    assert any("\u0370" <= char <= "\u03ff" for name in given for char in name)  # Greek
    assert any("\u0600" <= char <= "\u06ff" for name in given for char in name)  # Arabic
    assert any(record.birth_date is None for record in records)
    assert any(record.birth_date and len(record.birth_date) == 4 for record in records)
    assert any(record.phone is None for record in records)
    by_person: dict[str, list[str]] = {}
    for record in records:
        by_person.setdefault(population.person_of[record.record_id], []).append(
            normalise_name(record.given_name or "")
        )
    variants = sum(1 for names in by_person.values() if len(set(names)) > 1)
    assert variants > 50  # duplicates do not simply repeat the given name


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        generate_population(0)
