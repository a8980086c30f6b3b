"""The Fellegi-Sunter model: weights, corrections, thresholds, JSON and EM estimation."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from baobab.identity.matching import (
    DEFAULT_THRESHOLDS,
    InvalidModel,
    LevelProbabilities,
    MatchModel,
    Outcome,
    PersonRecord,
    Thresholds,
)
from baobab.identity.matching.population import generate_population
from baobab.identity.matching.records import prepare
from tests.unit.identity.matching.records import AMINA


def score(model: MatchModel, left: PersonRecord, right: PersonRecord) -> float:
    return model.compare(prepare(left), prepare(right))[0]


def test_weights_are_log2_of_m_over_u_and_missing_counts_nothing() -> None:
    model = MatchModel.default()
    exact = model.probabilities["given_name"]["exact"]
    assert model.weight("given_name", "exact") == pytest.approx(math.log2(exact.m / exact.u))
    assert model.weight("given_name", "exact") > 0 > model.weight("given_name", "different")
    assert model.weight("phone", "missing") == 0.0


def test_a_typo_scores_below_an_exact_copy_and_above_a_stranger() -> None:
    model = MatchModel.default()
    typo = replace(AMINA, record_id="typo", family_name="Odhiambu")
    stranger = PersonRecord("x", "Brian", "Kamau", birth_date="1971-11-30", sex="M")
    assert score(model, AMINA, AMINA) > score(model, AMINA, typo) > DEFAULT_THRESHOLDS.match
    assert score(model, AMINA, stranger) < DEFAULT_THRESHOLDS.review


def test_swapped_names_match_at_a_small_penalty() -> None:
    model = MatchModel.default()
    swapped = replace(AMINA, given_name=AMINA.family_name, family_name=AMINA.given_name)
    found, comparison = model.compare(prepare(AMINA), prepare(swapped))
    assert comparison.swapped
    assert found == pytest.approx(score(model, AMINA, AMINA) - model.swap_penalty)


def test_one_shared_name_is_not_a_swap() -> None:
    # Father "Otieno Otieno" and son "Dennis Otieno": given against family agrees, the rest not.
    model = MatchModel.default()
    father = PersonRecord("f", "Otieno", "Otieno", birth_date="1970-01-01", location="V1")
    son = PersonRecord("s", "Dennis", "Otieno", birth_date="1970-01-01", location="V1")
    assert not model.compare(prepare(father), prepare(son))[1].swapped


def test_twins_stay_distinct_though_they_share_household_and_birth_date() -> None:
    model = MatchModel.default()
    twin = replace(AMINA, record_id="twin", given_name="Halima", other_names=None)
    brother = replace(twin, record_id="brother", given_name="Evans", sex="M")
    assert DEFAULT_THRESHOLDS.outcome(score(model, AMINA, twin)) is Outcome.DISTINCT
    assert DEFAULT_THRESHOLDS.outcome(score(model, AMINA, brother)) is Outcome.DISTINCT
    # Without the household correction, the same pair would be taken for one person.
    plain = MatchModel(model.probabilities, household_fields=())
    assert DEFAULT_THRESHOLDS.outcome(score(plain, AMINA, twin)) is Outcome.MATCH


def test_a_namesake_parent_stays_distinct() -> None:
    model = MatchModel.default()
    father = PersonRecord(
        "f", "Otieno", "Odhiambo", birth_date="1961-05-02", location="V1", phone="0712345678"
    )
    son = replace(father, record_id="s", birth_date="1994-08-19")
    assert DEFAULT_THRESHOLDS.outcome(score(model, father, son)) is Outcome.DISTINCT


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        (30.0, Outcome.MATCH),
        (17.0, Outcome.MATCH),
        (12.0, Outcome.REVIEW),
        (-3.0, Outcome.DISTINCT),
    ],
)
def test_thresholds_give_three_outcomes(value: float, outcome: Outcome) -> None:
    assert DEFAULT_THRESHOLDS.outcome(value) is outcome


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(InvalidModel):
        Thresholds(match=5.0, review=10.0)
    with pytest.raises(InvalidModel):
        Thresholds(match=math.inf, review=1.0)


def test_thresholds_rise_one_bit_per_doubling_of_the_register() -> None:
    assert Thresholds.for_register(10_000) == DEFAULT_THRESHOLDS
    bigger = Thresholds.for_register(40_000)
    assert bigger.match == pytest.approx(DEFAULT_THRESHOLDS.match + 2)
    assert bigger.review == pytest.approx(DEFAULT_THRESHOLDS.review + 2)


def test_json_round_trip_keeps_every_parameter() -> None:
    model = MatchModel(
        MatchModel.default().probabilities, swap_penalty=3.5, household_fields=["phone"]
    )
    again = MatchModel.from_json(model.to_json())
    assert again.probabilities == model.probabilities
    assert again.swap_penalty == 3.5
    assert again.household_fields == ("phone",)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format="other"),
        lambda d: d["fields"].update(shoe_size={"exact": {"m": 0.9, "u": 0.1}}),
        lambda d: d["fields"]["sex"].pop("agree"),
        lambda d: d["fields"]["sex"]["agree"].update(m=1.5),
        lambda d: d["fields"]["sex"]["agree"].update(u="many"),
        lambda d: d["fields"]["sex"].update(maybe={"m": 0.5, "u": 0.5}),
        lambda d: d.update(household_fields=["shoe_size"]),
        lambda d: d.update(swap_penalty=-1),
        lambda d: d.pop("fields"),
    ],
)
def test_a_bad_model_document_is_refused(mutate: object) -> None:
    document = json.loads(MatchModel.default().to_json())
    mutate(document)  # type: ignore[operator]
    with pytest.raises(InvalidModel):
        MatchModel.from_json(json.dumps(document))


def test_unreadable_json_is_refused() -> None:
    with pytest.raises(InvalidModel):
        MatchModel.from_json("{not json")


def test_level_probabilities_must_be_probabilities() -> None:
    with pytest.raises(InvalidModel):
        LevelProbabilities(m=0.0, u=0.5)


def test_estimate_learns_sensible_weights_from_unlabelled_records() -> None:
    population = generate_population(3000, seed=5)
    model = MatchModel.estimate(population.records, random_pairs=20_000, seed=5)
    for field in ("given_name", "family_name"):
        assert model.weight(field, "exact") > 3
        assert model.weight(field, "different") < 0
    assert model.weight("phone", "exact") > 5
    assert model.weight("location", "exact") > 0 > model.weight("location", "different")
    assert model.household_fields  # the population has households


def test_estimate_switches_the_household_correction_off_where_a_shared_phone_is_one_person() -> (
    None
):
    records = []
    for number in range(400):
        base = PersonRecord(
            f"p{number}",
            f"given{number % 37}x{number % 11}",
            f"family{number % 41}",
            birth_date=f"{1950 + number % 50}-{1 + number % 12:02d}-{1 + number % 28:02d}",
            phone=f"07{number:08d}",
        )
        records.append(base)
        if number % 2:  # a duplicate, its given name now and then replaced outright
            given = f"other{number}" if number % 5 == 0 else base.given_name
            records.append(replace(base, record_id=f"d{number}", given_name=given))
    model = MatchModel.estimate(records, random_pairs=5_000, seed=1)
    assert model.household_fields == ()
