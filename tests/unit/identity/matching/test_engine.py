"""The deduplication engine: online search and batch deduplication."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings

from baobab.identity.matching import (
    DEFAULT_THRESHOLDS,
    DedupEngine,
    DuplicateRecordId,
    MatchModel,
    Outcome,
    PersonRecord,
    Thresholds,
    deduplicate,
)
from baobab.identity.matching.population import generate_population
from tests.unit.identity.matching.records import AMINA, records

MODEL = MatchModel.default()


def engine_with(*gallery: PersonRecord, max_block: int = 500) -> DedupEngine:
    engine = DedupEngine(MODEL, DEFAULT_THRESHOLDS, max_block=max_block)
    for record in gallery:
        engine.add(record)
    return engine


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(records(complete=True))
def test_a_record_always_finds_itself_as_match(record: PersonRecord) -> None:
    found = engine_with(record).find(record)
    assert [candidate.record_id for candidate in found] == [record.record_id]
    assert found[0].outcome is Outcome.MATCH


@given(records(), records())
def test_find_never_fails_and_returns_only_match_or_review(
    gallery: PersonRecord, query: PersonRecord
) -> None:
    for candidate in engine_with(gallery).find(query):
        assert candidate.outcome in (Outcome.MATCH, Outcome.REVIEW)


def test_find_ranks_best_first_explains_and_limits() -> None:
    typo = replace(AMINA, record_id="typo", given_name="Amnia", phone=None)
    moved = replace(AMINA, record_id="moved", location="KE-001-0001", phone=None, other_names=None)
    stranger = PersonRecord("x", "Brian", "Kamau", birth_date="1971-11-30")
    engine = engine_with(typo, moved, stranger)
    found = engine.find(AMINA)
    assert [candidate.record_id for candidate in found] == ["typo", "moved"]
    assert found[0].score >= found[1].score
    assert found[0].field_levels["given_name"] in ("phonetic", "close")
    assert found[1].field_levels["location"] == "different"
    assert [candidate.record_id for candidate in engine.find(AMINA, limit=1)] == ["typo"]


def test_a_weak_candidate_is_offered_for_review() -> None:
    partial = PersonRecord("p", "Amina", "Odhiambo", birth_date="1990")
    found = engine_with(partial).find(replace(AMINA, phone=None, location=None, other_names=None))
    assert [candidate.outcome for candidate in found] == [Outcome.REVIEW]


def test_add_replaces_remove_forgets_and_len_counts() -> None:
    engine = engine_with(AMINA)
    assert len(engine) == 1
    halima = replace(AMINA, given_name="Halima", other_names=None)
    engine.add(halima)  # the same id: an update replaces the record
    assert len(engine) == 1
    assert engine.find(replace(AMINA, record_id="q")) == []
    assert [candidate.record_id for candidate in engine.find(halima)] == [AMINA.record_id]
    engine.remove(AMINA.record_id)
    engine.remove("never-added")
    assert len(engine) == 0
    assert engine.find(AMINA) == []


def test_an_oversized_block_is_skipped() -> None:
    crowd = [replace(AMINA, record_id=f"c{n}", other_names=None) for n in range(4)]
    assert engine_with(*crowd, max_block=3).find(AMINA) == []
    assert len(engine_with(*crowd, max_block=4).find(AMINA)) == 4


def test_max_block_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_block"):
        DedupEngine(MODEL, DEFAULT_THRESHOLDS, max_block=0)


def test_deduplicate_finds_the_planted_duplicates_and_keeps_twins_apart() -> None:
    population = generate_population(3000, seed=11)
    seen: list[int] = []
    clusters = deduplicate(
        population.records, MODEL, DEFAULT_THRESHOLDS, progress=seen.append, workers=1
    )
    predicted = {pair for cluster in clusters for pair in combinations(cluster, 2)}
    truth = population.duplicate_pairs()
    hits = len(predicted & truth)
    assert hits / len(truth) > 0.9
    assert hits / len(predicted) > 0.9
    assert all(len(cluster) >= 2 and cluster == sorted(cluster) for cluster in clusters)
    cluster_of = {record: index for index, cluster in enumerate(clusters) for record in cluster}
    assert population.twins
    for left, right in population.twins:
        assert left not in cluster_of or cluster_of[left] != cluster_of.get(right)
    size = len(population.records)
    expected = list(range(1000, size + 1, 1000))
    if size % 1000:
        expected.append(size)
    assert seen == expected


def test_deduplicate_finds_the_same_clusters_in_any_number_of_processes() -> None:
    records = generate_population(2500, seed=12).records
    one = deduplicate(records, MODEL, DEFAULT_THRESHOLDS, workers=1)
    assert len(one) > 100
    seen: list[int] = []
    assert deduplicate(records, MODEL, DEFAULT_THRESHOLDS, seen.append, workers=3) == one
    assert seen == sorted(seen)
    assert seen[-1] == len(records)
    learned = MatchModel.estimate(records, seed=5)
    thresholds = Thresholds.for_register(len(records))
    alone = deduplicate(records, learned, thresholds, workers=1)
    assert deduplicate(records, seed=5, workers=2) == alone


def test_deduplicate_reports_a_round_number_of_records_once() -> None:
    records = generate_population(3000, seed=13).records[:2000]
    seen: list[int] = []
    deduplicate(records, MODEL, DEFAULT_THRESHOLDS, seen.append, workers=1)
    assert seen == [1000, 2000]


def test_deduplicate_compares_a_record_only_with_those_before_it_as_they_were() -> None:
    # Three equal records: with blocks of at most one record, the second finds the first, the
    # third none (every block it looks in held two records when it came).
    first = replace(AMINA, record_id="a1", phone=None, location=None)
    second = replace(first, record_id="a2")
    third = replace(first, record_id="a3")
    assert deduplicate([first, second, third], MODEL, DEFAULT_THRESHOLDS, max_block=1) == [
        ["a1", "a2"]
    ]


def test_deduplicate_refuses_a_repeated_id() -> None:
    with pytest.raises(DuplicateRecordId):
        deduplicate([AMINA, AMINA], MODEL, DEFAULT_THRESHOLDS)


def test_deduplicate_joins_chains_transitively() -> None:
    middle = replace(AMINA, record_id="b", family_name="Odhiambu")
    last = replace(middle, record_id="c", given_name="Aminah", location=None)
    assert deduplicate([AMINA, middle, last], MODEL, Thresholds(match=17, review=10)) == [
        ["amina", "b", "c"]
    ]
