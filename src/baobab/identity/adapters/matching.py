"""The duplicate finder over Baobab's own matching engine (:mod:`baobab.identity.matching`).

The engine keeps its gallery in memory; this adapter translates between the profile's matching
view and the engine's records, and serialises access (the engine is not thread-safe).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from baobab.identity.domain import DuplicateCandidate, MatchOutcome
from baobab.identity.matching import (
    DEFAULT_THRESHOLDS,
    DedupEngine,
    MatchModel,
    Outcome,
    PersonRecord,
    Thresholds,
)

_OUTCOMES = {
    Outcome.MATCH: MatchOutcome.MATCH,
    Outcome.REVIEW: MatchOutcome.REVIEW,
    Outcome.DISTINCT: MatchOutcome.DISTINCT,
}


def _record(record_id: str, person: Mapping[str, str]) -> PersonRecord:
    return PersonRecord(
        record_id,
        given_name=person.get("given_name"),
        family_name=person.get("family_name"),
        other_names=person.get("other_names"),
        birth_date=person.get("birth_date"),
        sex=person.get("sex"),
        location=person.get("location"),
        phone=person.get("phone"),
    )


class EngineDuplicateFinder:
    """A :class:`~baobab.identity.ports.DuplicateFinder` backed by a :class:`DedupEngine`."""

    def __init__(self, engine: DedupEngine | None = None) -> None:
        self._engine = engine or DedupEngine(MatchModel.default(), DEFAULT_THRESHOLDS)
        self._lock = threading.Lock()

    @classmethod
    def with_thresholds(cls, *, match: float, review: float) -> EngineDuplicateFinder:
        """A finder whose outcomes use a country's own thresholds (match weights in bits)."""
        return cls(DedupEngine(MatchModel.default(), Thresholds(match=match, review=review)))

    def add(self, uin: str, person: Mapping[str, str]) -> None:
        record = _record(uin, person)
        with self._lock:
            self._engine.add(record)

    def remove(self, uin: str) -> None:
        with self._lock:
            self._engine.remove(uin)

    def find(self, person: Mapping[str, str], *, limit: int = 10) -> Sequence[DuplicateCandidate]:
        record = _record("query", person)
        with self._lock:
            found = self._engine.find(record, limit=limit)
        return [
            DuplicateCandidate(
                c.record_id,
                float(c.score),
                _OUTCOMES[c.outcome],
                {k: str(v) for k, v in c.field_levels.items()},
            )
            for c in found
        ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._engine)
