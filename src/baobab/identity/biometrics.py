"""Biometric deduplication by an external matcher (ABIS), combined with the demographic one.

Baobab holds no biometric template: a packet names templates by reference, and the ABIS that
holds them answers *identify* (who in its gallery has these biometrics?) with candidate UINs,
each a ``match`` or a ``review``. :func:`combine` merges that answer with the demographic
candidates into one list the enrolment settles on:

- both say *match* for the same person: a duplicate;
- the biometrics match but the demographics do not (or only doubtfully): review — the same
  body under another name is exactly what an officer must look at;
- the demographics match but the ABIS, asked, does not confirm it: review — twins and
  namesakes agree on paper, not on fingerprints (and the earlier person may have enrolled
  without biometrics);
- a biometric *review* is a review; a person the ABIS does not name keeps the demographic
  outcome only when no biometric search ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from baobab.identity.domain import DuplicateCandidate, MatchOutcome
from baobab.kernel.errors import Unavailable


class AbisUnavailable(Unavailable):
    code = "identity.abis_unavailable"
    title = "The biometric matcher (ABIS) did not answer"


@dataclass(frozen=True, slots=True)
class BiometricCandidate:
    """A registered person the ABIS finds with the packet's biometrics."""

    uin: str
    outcome: MatchOutcome  # MATCH or REVIEW
    score: float


def combine(
    demographic: Sequence[DuplicateCandidate], biometric: Sequence[BiometricCandidate]
) -> list[DuplicateCandidate]:
    """One candidate list from both matchers, after a biometric search ran; best first."""
    by_uin = {c.uin: c for c in biometric if c.outcome is not MatchOutcome.DISTINCT}
    combined = []
    for candidate in demographic:
        bio = by_uin.pop(candidate.uin, None)
        both = bio is not None and bio.outcome is MatchOutcome.MATCH
        agreed = candidate.outcome is MatchOutcome.MATCH and both
        levels = {**candidate.field_levels, "biometric": bio.outcome.value if bio else "none"}
        outcome = MatchOutcome.MATCH if agreed else MatchOutcome.REVIEW
        combined.append(DuplicateCandidate(candidate.uin, candidate.score, outcome, levels))
    combined += [
        DuplicateCandidate(
            bio.uin, bio.score, MatchOutcome.REVIEW, {"biometric": bio.outcome.value}
        )
        for bio in by_uin.values()
    ]
    combined.sort(key=lambda c: (c.outcome is not MatchOutcome.MATCH, -c.score))
    return combined
