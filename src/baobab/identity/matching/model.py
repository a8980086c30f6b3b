"""The Fellegi-Sunter match model: per-level m/u probabilities, match weights and outcomes.

For each field and comparison level, ``m`` is the probability of that level when two records are
the same person and ``u`` when they are not; the level's *match weight* is ``log2(m / u)``. The
score of a pair is the sum of its fields' weights (a missing field adds nothing): the log2
likelihood ratio of "same person" over "different people" under the model's assumption that
fields agree independently. :class:`Thresholds` on that score give the three outcomes.

Two corrections for where independence plainly fails, both documented in ``docs/dedup.md``:

- **Name orientation.** When the names disagree as given, they are also compared swapped (given
  against family); if both then agree (better than ``weak``), the better orientation counts,
  less ``swap_penalty`` bits.
- **Households.** Members of one household share a family name, an address and often a phone,
  twins a date of birth too, and a father and son may share a given name: agreement on those
  fields is not independent evidence once the person's own attributes disagree. When the given
  names are no better than ``weak``, the dates of birth no better than ``near_year`` or the sexes
  differ (twins *Evangelos* and *Evangelia*), the household fields (``household_fields``) can
  only lower the score, never raise it - so twins, siblings and namesake parents stay distinct
  however much else they share. :meth:`MatchModel.estimate` switches this off for data without
  households (where a shared phone or identifier marks the same person).

Weights come from :meth:`MatchModel.default` (configured, documented values) or from
:meth:`MatchModel.estimate` (``u`` from random pairs, ``m`` by expectation-maximisation over the
blocked candidate pairs of unlabelled records), and travel as JSON for per-country configuration.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from baobab.identity.matching.comparisons import (
    FIELD_LEVELS,
    FIELDS,
    MISSING,
    NAME_LEVELS,
    Comparison,
    compare,
)
from baobab.identity.matching.dates import BIRTH_DATE_LEVELS
from baobab.identity.matching.estimation import estimate_probabilities
from baobab.identity.matching.records import PersonRecord, PreparedRecord, prepare

__all__ = [
    "DEFAULT_THRESHOLDS",
    "InvalidModel",
    "LevelProbabilities",
    "MatchModel",
    "Outcome",
    "Thresholds",
]

_FORMAT = "baobab-match-model/1"
_REFERENCE_RECORDS = 10_000
_GIVEN = FIELDS.index("given_name")
_FAMILY = FIELDS.index("family_name")
# From this name level down, the names are treated as disagreeing (see the module docstring).
_DISAGREEING_NAME = NAME_LEVELS.index("weak")
_BIRTH = FIELDS.index("birth_date")
_DISAGREEING_DATE = BIRTH_DATE_LEVELS.index("near_year")
_SEX = FIELDS.index("sex")
_DISAGREEING_SEX = FIELD_LEVELS["sex"].index("disagree")
_HOUSEHOLD_FIELDS = ("family_name", "birth_date", "location", "phone")


class InvalidModel(ValueError):
    """A model or thresholds document that cannot be used (unknown field or level, bad value)."""


class Outcome(StrEnum):
    """What a pair's score says: the same person, a human should look, or different people."""

    MATCH = "match"
    REVIEW = "review"
    DISTINCT = "distinct"


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds (log2 likelihood ratio, bits): ``score >= match`` is MATCH,
    ``score >= review`` is REVIEW, anything lower DISTINCT. A country sets its own."""

    match: float
    review: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.match) and math.isfinite(self.review)):
            raise InvalidModel("thresholds must be finite numbers")
        if self.review > self.match:
            raise InvalidModel("the review threshold must not exceed the match threshold")

    @classmethod
    def for_register(cls, records: int) -> Thresholds:
        """The default thresholds moved for a register of ``records`` people.

        Scores are likelihood ratios; the chance that a candidate is the same person falls as the
        register grows (more namesakes share every block), so the thresholds rise by one bit for
        each doubling beyond the 10,000 records the defaults were chosen on (and fall below it):
        the same reasoning as the prior match probability of Fellegi and Sunter's decision rule.
        """
        shift = math.log2(max(records, 2) / _REFERENCE_RECORDS)
        return cls(match=DEFAULT_THRESHOLDS.match + shift, review=DEFAULT_THRESHOLDS.review + shift)

    def outcome(self, score: float) -> Outcome:
        """The outcome of one pair's ``score``."""
        if score >= self.match:
            return Outcome.MATCH
        if score >= self.review:
            return Outcome.REVIEW
        return Outcome.DISTINCT


DEFAULT_THRESHOLDS = Thresholds(match=17.0, review=10.0)
"""Chosen on the synthetic population of 10,000 records (best F1 of MATCH pairs); see
:meth:`Thresholds.for_register` for other sizes and ``docs/dedup.md`` for the measurements."""


@dataclass(frozen=True)
class LevelProbabilities:
    """``m``: probability of the level for the same person; ``u``: for different people."""

    m: float
    u: float

    def __post_init__(self) -> None:
        if not (0.0 < self.m <= 1.0 and 0.0 < self.u <= 1.0):
            raise InvalidModel("m and u must be probabilities in (0, 1]")

    @property
    def weight(self) -> float:
        """The level's match weight, ``log2(m / u)``."""
        return math.log2(self.m / self.u)


# Configured defaults: m from the error rates registers report (a few per cent of typos, swaps
# and partial dates), u from name and date frequencies of a population of about a million.
_DEFAULT: dict[str, dict[str, tuple[float, float]]] = {
    "given_name": {
        "exact": (0.80, 0.01),
        "phonetic": (0.05, 0.004),
        "nickname": (0.04, 0.001),
        "close": (0.06, 0.004),
        "similar": (0.02, 0.02),
        "weak": (0.02, 0.12),
        "different": (0.01, 0.841),
    },
    "family_name": {
        "exact": (0.85, 0.005),
        "phonetic": (0.05, 0.003),
        "nickname": (0.001, 0.0005),
        "close": (0.05, 0.003),
        "similar": (0.02, 0.02),
        "weak": (0.02, 0.12),
        "different": (0.009, 0.8485),
    },
    "other_names": {
        "exact": (0.80, 0.02),
        "similar": (0.10, 0.05),
        "different": (0.10, 0.93),
    },
    "birth_date": {
        "exact": (0.85, 0.00005),
        "day_month_swap": (0.03, 0.00003),
        "one_part": (0.05, 0.003),
        "year_only": (0.04, 0.016),
        "near_year": (0.02, 0.08),
        "different": (0.01, 0.90092),
    },
    "sex": {"agree": (0.97, 0.5), "disagree": (0.03, 0.5)},
    "location": {"exact": (0.75, 0.002), "near": (0.10, 0.02), "different": (0.15, 0.978)},
    "phone": {"exact": (0.60, 0.00001), "close": (0.05, 0.0001), "different": (0.35, 0.99989)},
}


class MatchModel:
    """Per-field, per-level m/u probabilities and the two corrections; scores prepared pairs."""

    def __init__(
        self,
        probabilities: Mapping[str, Mapping[str, LevelProbabilities]],
        *,
        swap_penalty: float = 2.0,
        household_fields: Iterable[str] = _HOUSEHOLD_FIELDS,
    ) -> None:
        for field, levels in probabilities.items():
            if field not in FIELD_LEVELS:
                raise InvalidModel(f"unknown field {field!r}")
            unknown = set(levels) - set(FIELD_LEVELS[field])
            if unknown:
                raise InvalidModel(f"unknown levels {sorted(unknown)} for {field!r}")
        missing = [
            f"{field}.{level}"
            for field, levels in FIELD_LEVELS.items()
            for level in levels
            if level not in probabilities.get(field, {})
        ]
        if missing:
            raise InvalidModel(f"no probabilities for {', '.join(missing)}")
        household = tuple(household_fields)
        if not set(household) <= set(FIELDS):
            raise InvalidModel("household fields must be model fields")
        if not math.isfinite(swap_penalty) or swap_penalty < 0:
            raise InvalidModel("swap_penalty must be a non-negative number")
        self.probabilities: Mapping[str, Mapping[str, LevelProbabilities]] = {
            field: {level: probabilities[field][level] for level in FIELD_LEVELS[field]}
            for field in FIELDS
        }
        self.swap_penalty = swap_penalty
        self.household_fields = household
        self._weights = [
            [self.probabilities[field][level].weight for level in FIELD_LEVELS[field]]
            for field in FIELDS
        ]
        household_index = {FIELDS.index(field) for field in household}
        self._clipped = [
            [min(weight, 0.0) if index in household_index else weight for weight in weights]
            for index, weights in enumerate(self._weights)
        ]

    @classmethod
    def default(cls) -> MatchModel:
        """The configured model: documented m/u values for a population of about a million."""
        return cls(
            {
                field: {level: LevelProbabilities(m, u) for level, (m, u) in levels.items()}
                for field, levels in _DEFAULT.items()
            }
        )

    @classmethod
    def estimate(
        cls,
        records: Iterable[PersonRecord | PreparedRecord],
        *,
        start: MatchModel | None = None,
        random_pairs: int = 50_000,
        max_pairs: int = 300_000,
        iterations: int = 40,
        max_block: int = 500,
        seed: int = 0,
    ) -> MatchModel:
        """Learn m and u from unlabelled ``records``: ``u`` from ``random_pairs`` random pairs,
        ``m`` by EM over up to ``max_pairs`` blocked candidate pairs, starting from ``start``
        (the default model if not given), whose swap penalty is kept, and whose household
        fields are kept unless the records show no households (see :mod:`.estimation`).
        Records already prepared (:func:`.records.prepare`) are taken as they are.
        """
        base = start or cls.default()
        initial_m = [
            [base.probabilities[field][level].m for level in FIELD_LEVELS[field]]
            for field in FIELDS
        ]
        initial_u = [
            [base.probabilities[field][level].u for level in FIELD_LEVELS[field]]
            for field in FIELDS
        ]
        learned = estimate_probabilities(
            [r if isinstance(r, PreparedRecord) else prepare(r) for r in records],
            initial_m=initial_m,
            initial_u=initial_u,
            random_pairs=random_pairs,
            max_pairs=max_pairs,
            iterations=iterations,
            max_block=max_block,
            seed=seed,
        )
        return cls(
            {
                field: {
                    level: LevelProbabilities(learned.m[f][k], learned.u[f][k])
                    for k, level in enumerate(FIELD_LEVELS[field])
                }
                for f, field in enumerate(FIELDS)
            },
            swap_penalty=base.swap_penalty,
            household_fields=base.household_fields if learned.households is not False else (),
        )

    def weight(self, field: str, level: str) -> float:
        """The match weight of ``level`` of ``field``; 0 for ``"missing"``."""
        if level == "missing":
            return 0.0
        return self.probabilities[field][level].weight

    def score(self, comparison: Comparison) -> float:
        """The pair's score, in bits, with the household correction applied."""
        levels = comparison.levels
        disagreeing = (
            levels[_GIVEN] >= _DISAGREEING_NAME
            or levels[_BIRTH] >= _DISAGREEING_DATE
            or levels[_SEX] == _DISAGREEING_SEX
        )
        table = self._clipped if disagreeing else self._weights
        total = -self.swap_penalty if comparison.swapped else 0.0
        for weights, level in zip(table, levels, strict=True):
            if level != MISSING:
                total += weights[level]
        return total

    def compare(self, left: PreparedRecord, right: PreparedRecord) -> tuple[float, Comparison]:
        """The better-scoring orientation of the pair: its score and its comparison."""
        straight = compare(left, right)
        best = self.score(straight)
        given, family = straight.levels[_GIVEN], straight.levels[_FAMILY]
        disagreeing = given >= _DISAGREEING_NAME or family >= _DISAGREEING_NAME
        if disagreeing and MISSING not in (given, family):
            swapped = compare(left, right, swapped=True)
            # Swapped counts only when both names then agree: one shared name is no swap.
            if max(swapped.levels[_GIVEN], swapped.levels[_FAMILY]) < _DISAGREEING_NAME:
                swapped_score = self.score(swapped)
                if swapped_score > best:
                    return swapped_score, swapped
        return best, straight

    def to_json(self) -> str:
        """The model as a JSON document (per-country configuration, reviewable and versioned)."""
        document: dict[str, Any] = {
            "format": _FORMAT,
            "swap_penalty": self.swap_penalty,
            "household_fields": list(self.household_fields),
            "fields": {
                field: {
                    level: {"m": probability.m, "u": probability.u}
                    for level, probability in levels.items()
                }
                for field, levels in self.probabilities.items()
            },
        }
        return json.dumps(document, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        """A model from :meth:`to_json`'s document; :class:`InvalidModel` if it is not one."""
        try:
            document = json.loads(text)
            if document.get("format") != _FORMAT:
                raise InvalidModel(f"not a {_FORMAT} document")
            probabilities = {
                field: {
                    level: LevelProbabilities(float(value["m"]), float(value["u"]))
                    for level, value in levels.items()
                }
                for field, levels in document["fields"].items()
            }
            return cls(
                probabilities,
                swap_penalty=float(document.get("swap_penalty", 2.0)),
                household_fields=[str(f) for f in document.get("household_fields", [])],
            )
        except InvalidModel:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidModel(f"unreadable match model: {error}") from error
