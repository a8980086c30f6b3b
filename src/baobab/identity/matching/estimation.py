"""Learning m and u from unlabelled records (the model's ``estimate``).

- ``u`` - the level frequencies among *random* pairs of records: in any sizeable register almost
  every random pair is two different people, so these are the non-match frequencies directly. A
  level never seen counts as half an observation, so no weight is infinite. The exact level,
  whose u is smallest and matters most, is computed from value counts instead (the chance that
  two random records share a value), which needs no sampling luck.
- ``m`` - expectation-maximisation (Dempster, Laird and Rubin; Winkler's use for record linkage)
  over *blocked candidate pairs* sharing a name key and the date of birth (``D`` keys), where
  duplicates are frequent enough to learn from. The date's own m cannot be learned there (the
  pairs were chosen for agreeing on it) and stays as configured: every pair set where the date is
  not blocked on (same names, same phone, same place) is dominated by namesakes or household
  members, for whom the date is the only telling field, and EM then takes them as its "match"
  class (tried and measured; see ``docs/dedup.md``). Pairs found only by phone or place are left
  out for the same reason. ``u`` stays fixed at the random-pair estimate, and the starting m
  counts as 20 pseudo-pairs, so a level seldom seen stays sensible. Pairs are reduced to their
  distinct comparison patterns with counts, so an iteration costs the number of patterns, not
  pairs. Each iteration: the probability that each pattern is a match under the current m, u and
  match share (E), then m as the match-weighted level frequencies and the share as their mean (M),
  until the share moves by less than 1e-6.
- *households* - whether the household correction of the model applies: among records sharing a
  phone, if most pairs have different given names the data has households (the correction stays
  as configured); if most agree, a shared phone marks the same person and the correction is
  switched off. Too few shared phones to tell leaves the configuration as it is.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

from baobab.identity.matching.blocking import BlockIndex, blocking_keys
from baobab.identity.matching.comparisons import FIELDS, MISSING, NAME_LEVELS, compare
from baobab.identity.matching.records import PreparedRecord

__all__ = ["Estimate", "estimate_probabilities"]

_FLOOR = 1e-6
_BIRTH = FIELDS.index("birth_date")
_GIVEN = FIELDS.index("given_name")
_FAMILY = FIELDS.index("family_name")
_DIFFERENT_GIVEN = NAME_LEVELS.index("weak")
_HOUSEHOLD_PAIRS = 50_000
_HOUSEHOLD_EVIDENCE = 100
_PRIOR_PAIRS = 20.0  # pseudo-pairs of the starting m, so a level seldom seen stays sensible
_CONVERGED = 1e-6


class Estimate(NamedTuple):
    """Learned probabilities per field index and level index, and what they came from."""

    m: list[list[float]]
    u: list[list[float]]
    match_share: float
    blocked_pairs: int
    iterations: int
    households: bool | None


def _normalised(counts: Sequence[float], fallback: Sequence[float]) -> list[float]:
    total = sum(counts)
    if total <= 0:
        return list(fallback)
    floored = [max(count / total, _FLOOR) for count in counts]
    scale = sum(floored)
    return [value / scale for value in floored]


def _random_pair_u(
    records: Sequence[PreparedRecord], sizes: list[int], pairs: int, rng: random.Random
) -> list[list[float]]:
    counts = [[0.0] * size for size in sizes]
    population = len(records)
    if population < 2:
        return [[1.0 / size] * size for size in sizes]
    for _ in range(pairs):
        left, right = rng.randrange(population), rng.randrange(population - 1)
        if right >= left:
            right += 1
        for field, level in enumerate(compare(records[left], records[right]).levels):
            if level != MISSING:
                counts[field][level] += 1.0
    return [
        [max(count, 0.5) for count in field_counts] if sum(field_counts) else field_counts
        for field_counts in counts
    ]


def _exact_shares(records: Sequence[PreparedRecord]) -> list[float | None]:
    """Per field, the chance that two random records having it agree exactly: the sum over
    values of (count * (count - 1)) over n * (n - 1), computed from value counts, so a rare
    level needs no lucky random pair. ``None`` for a field too few records have."""
    values: list[Callable[[PreparedRecord], object]] = [
        lambda r: r.given.text if r.given else None,
        lambda r: r.family.text if r.family else None,
        lambda r: r.other.text if r.other else None,
        lambda r: r.birth if r.birth is not None and r.birth.day else None,
        lambda r: r.sex,
        lambda r: r.location,
        lambda r: r.phone,
    ]
    shares: list[float | None] = []
    for value_of in values:
        counts = Counter(value for value in map(value_of, records) if value is not None)
        total = sum(counts.values())
        if total < 2:
            shares.append(None)
            continue
        same = sum(count * (count - 1) for count in counts.values())
        shares.append(max(same / (total * (total - 1)), 0.5 / (total * (total - 1))))
    return shares


def _with_exact_share(u: list[float], share: float | None) -> list[float]:
    """``u`` with its first (exact) level set to ``share`` and the others scaled to the rest."""
    if share is None or share >= 1.0:
        return u
    rest = sum(u[1:])
    if rest <= 0:
        return u
    return [share, *((1.0 - share) * value / rest for value in u[1:])]


def _oriented(left: PreparedRecord, right: PreparedRecord) -> tuple[int, ...]:
    """Comparison levels with the names swapped when only that way round both names agree, so
    EM does not learn swapped records as name disagreements."""
    straight = compare(left, right).levels
    if max(straight[_GIVEN], straight[_FAMILY]) < _DIFFERENT_GIVEN:
        return straight
    swapped = compare(left, right, swapped=True).levels
    low, high = sorted((swapped[_GIVEN], swapped[_FAMILY]))
    if low != MISSING and high < _DIFFERENT_GIVEN:
        return swapped
    return straight


def _blocked_patterns(
    records: Sequence[PreparedRecord],
    *,
    kinds: frozenset[str],
    max_pairs: int,
    max_block: int,
    rng: random.Random,
) -> Counter[tuple[int, ...]]:
    """Comparison patterns of the pairs sharing a blocking key of one of ``kinds``."""
    order = list(range(len(records)))
    rng.shuffle(order)
    index = BlockIndex(max_block=max_block)
    patterns: Counter[tuple[int, ...]] = Counter()
    pairs = 0
    for slot in order:
        filed, looked = blocking_keys(records[slot])
        filed = [key for key in filed if key[0] in kinds]
        looked = [key for key in looked if key[0] in kinds]
        for other in set(index.candidates(looked)):
            patterns[_oriented(records[slot], records[other])] += 1
            pairs += 1
        if pairs >= max_pairs:
            break
        index.add(slot, filed)
    return patterns


def _expectation_maximisation(
    patterns: Counter[tuple[int, ...]],
    *,
    m: list[list[float]],
    u: list[list[float]],
    free: frozenset[int],
    scored: frozenset[int],
    iterations: int,
) -> tuple[list[list[float]], float, int]:
    """m of the ``free`` field indexes (the others held) and the match share, by EM; only the
    ``scored`` fields weigh in the E step (a field the pairs were blocked on says nothing)."""
    total = sum(patterns.values())
    if total == 0:
        return m, 0.0, 0
    items = list(patterns.items())
    log_u = [
        sum(
            math.log(u[field][level])
            for field, level in enumerate(levels)
            if level != MISSING and field in scored
        )
        for levels, _ in items
    ]
    start = m
    share = 0.1
    rounds = 0
    for rounds in range(1, iterations + 1):  # noqa: B007 - the count is reported
        log_m = [[math.log(value) for value in levels] for levels in m]
        m_counts = [[0.0] * len(levels) for levels in m]
        expected = 0.0
        log_share, log_rest = math.log(share), math.log(1.0 - share)
        for (levels, count), pattern_log_u in zip(items, log_u, strict=True):
            pattern_log_m = sum(
                log_m[field][level]
                for field, level in enumerate(levels)
                if level != MISSING and field in scored
            )
            difference = (log_rest + pattern_log_u) - (log_share + pattern_log_m)
            weight = count / (1.0 + math.exp(min(difference, 700.0)))
            expected += weight
            for field, level in enumerate(levels):
                if level != MISSING:
                    m_counts[field][level] += weight
        new_share = min(max(expected / total, 1e-6), 1.0 - 1e-6)
        m = [
            _normalised([c + _PRIOR_PAIRS * p for c, p in zip(counts, prior, strict=True)], prior)
            if field in free
            else prior
            for field, (counts, prior) in enumerate(zip(m_counts, start, strict=True))
        ]
        converged = abs(new_share - share) < _CONVERGED
        share = new_share
        if converged:
            break
    return m, share, rounds


def estimate_probabilities(
    records: Sequence[PreparedRecord],
    *,
    initial_m: list[list[float]],
    initial_u: list[list[float]],
    random_pairs: int,
    max_pairs: int,
    iterations: int,
    max_block: int,
    seed: int,
) -> Estimate:
    """m and u per field and level learned from ``records`` (see the module docstring)."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    sizes = [len(levels) for levels in initial_m]
    u_counts = _random_pair_u(records, sizes, random_pairs, rng)
    u = [
        _with_exact_share(_normalised(counts, fallback), share)
        for counts, fallback, share in zip(u_counts, initial_u, _exact_shares(records), strict=True)
    ]
    every = frozenset(range(len(sizes)))
    dated = _blocked_patterns(
        records, kinds=frozenset("D"), max_pairs=max_pairs, max_block=max_block, rng=rng
    )
    undated = every - {_BIRTH}
    m, share, rounds = _expectation_maximisation(
        dated, m=initial_m, u=u, free=undated, scored=undated, iterations=iterations
    )
    return Estimate(m, u, share, sum(dated.values()), rounds, _households(records, rng=rng))


def _households(records: Sequence[PreparedRecord], *, rng: random.Random) -> bool | None:
    """Whether records sharing a phone are mostly *different* people (households), or mostly
    duplicates; ``None`` when too few records share a phone to tell."""
    shared = _blocked_patterns(
        records, kinds=frozenset("P"), max_pairs=_HOUSEHOLD_PAIRS, max_block=50, rng=rng
    )
    compared = sum(count for levels, count in shared.items() if levels[_GIVEN] != MISSING)
    if compared < _HOUSEHOLD_EVIDENCE:
        return None
    differing = sum(count for levels, count in shared.items() if levels[_GIVEN] >= _DIFFERENT_GIVEN)
    return differing / compared > 0.5
