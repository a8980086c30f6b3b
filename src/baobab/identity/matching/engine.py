"""The deduplication engine: an in-memory gallery searched online, and batch deduplication.

:class:`DedupEngine` keeps prepared records and their blocking keys; :meth:`DedupEngine.find`
scores only the records sharing a blocking key with the query, so an enrolment check costs the
same against a gallery of ten thousand or ten million. :func:`deduplicate` runs the same search
over a whole register, each record against those before it, and returns the clusters that the
MATCH pairs join (transitive closure), using every core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from baobab.identity.matching.blocking import BlockIndex, blocking_keys
from baobab.identity.matching.forked import Forked, cores
from baobab.identity.matching.model import MatchModel, Outcome, Thresholds
from baobab.identity.matching.records import PersonRecord, PreparedRecord, prepare

__all__ = ["Candidate", "DedupEngine", "DuplicateRecordId", "deduplicate"]

_PROGRESS_EVERY = 1000


class DuplicateRecordId(ValueError):
    """Two records in one batch carry the same ``record_id``."""


@dataclass(frozen=True)
class Candidate:
    """A gallery record that may be the same person as the query.

    ``score`` is the pair's match weight in bits (see :class:`MatchModel`); ``field_levels``
    says why, field by field (``"missing"`` where a side lacks it; ``names: swapped`` when given
    and family names matched the other way round).
    """

    record_id: str
    score: float
    outcome: Outcome
    field_levels: Mapping[str, str]


class DedupEngine:
    """A gallery of records, searchable for likely duplicates of a new one."""

    def __init__(self, model: MatchModel, thresholds: Thresholds, *, max_block: int = 500) -> None:
        if max_block < 1:
            raise ValueError("max_block must be at least 1")
        self._model = model
        self._thresholds = thresholds
        self._index = BlockIndex(max_block=max_block)
        self._records: list[PreparedRecord | None] = []
        self._filed: list[list[str]] = []
        self._slots: dict[str, int] = {}

    def add(self, record: PersonRecord) -> None:
        """Put ``record`` into the gallery; a record with the same id is replaced (an update)."""
        prepared = prepare(record)
        self.remove(prepared.record_id)
        filed = blocking_keys(prepared)[0]
        slot = len(self._records)
        self._records.append(prepared)
        self._filed.append(filed)
        self._slots[prepared.record_id] = slot
        self._index.add(slot, filed)

    def remove(self, record_id: str) -> None:
        """Take the record out of the gallery; an unknown id is ignored."""
        slot = self._slots.pop(record_id, None)
        if slot is None:
            return
        self._index.remove(slot, self._filed[slot])
        self._records[slot] = None
        self._filed[slot] = []

    def find(self, record: PersonRecord, *, limit: int = 10) -> list[Candidate]:
        """The gallery records scoring MATCH or REVIEW against ``record``, best first, at most
        ``limit``; the record itself is found when it is in the gallery."""
        prepared = prepare(record)
        found = sorted(self._scored(prepared), key=lambda item: (-item[0], item[1].record_id))
        candidates: list[Candidate] = []
        for score, other in found[:limit]:
            _, comparison = self._model.compare(prepared, other)
            candidates.append(
                Candidate(
                    record_id=other.record_id,
                    score=score,
                    outcome=self._thresholds.outcome(score),
                    field_levels=comparison.explain(),
                )
            )
        return candidates

    def __len__(self) -> int:
        return len(self._slots)

    def _scored(self, prepared: PreparedRecord) -> Iterator[tuple[float, PreparedRecord]]:
        """Gallery records scoring at least the review threshold."""
        minimum = self._thresholds.review
        records = self._records
        compare = self._model.compare
        for slot in set(self._index.candidates(blocking_keys(prepared)[1])):
            other = records[slot]
            if other is None:
                continue
            score, _ = compare(prepared, other)
            if score >= minimum:
                yield score, other


class _Clusters:
    """Union-find over record ids (path halving, union by size)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._size: dict[str, int] = {}

    def _root(self, item: str) -> str:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, left: str, right: str) -> None:
        for item in (left, right):
            if item not in self._parent:
                self._parent[item] = item
                self._size[item] = 1
        left, right = self._root(left), self._root(right)
        if left == right:
            return
        if self._size[left] < self._size[right]:
            left, right = right, left
        self._parent[right] = left
        self._size[left] += self._size[right]

    def groups(self) -> list[list[str]]:
        grouped: dict[str, list[str]] = {}
        for item in self._parent:
            grouped.setdefault(self._root(item), []).append(item)
        return sorted((sorted(group) for group in grouped.values()), key=lambda g: g[0])


def deduplicate(
    records: Iterable[PersonRecord],
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
    seed: int = 0,
    max_block: int = 500,
) -> list[list[str]]:
    """Clusters (two or more record ids, sorted) of the records that MATCH pairs join.

    Each record is compared with the records before it that share a blocking key, so every
    candidate pair is scored once. ``model`` defaults to one learned from the records
    (:meth:`MatchModel.estimate` with ``seed``), ``thresholds`` to
    :meth:`Thresholds.for_register` of their number. ``workers`` processes do the work (by
    default one per core, on Linux): once the records are prepared, the model is learned in one
    while this one files them in the blocking index, then each compares every ``workers``-th
    record; the pairs, and so the clusters, are the same for any number. ``progress`` is called
    with the number of records done, every thousand records and at the end. Raises
    :class:`DuplicateRecordId` on a repeated id.
    """
    register = list(records)
    seen: set[str] = set()
    for record in register:
        if record.record_id in seen:
            raise DuplicateRecordId(f"record id {record.record_id!r} appears twice")
        seen.add(record.record_id)
    count = cores(workers)
    prepared = [prepare(record) for record in register]
    learning: Forked[str] | None = None
    if model is None and count > 1:
        learning = Forked(lambda: MatchModel.estimate(prepared, seed=seed).to_json())
    elif model is None:
        model = MatchModel.estimate(prepared, seed=seed)
    looked: list[list[str]] = []
    index = BlockIndex(max_block=max_block)
    for slot, ready in enumerate(prepared):
        filed, wanted = blocking_keys(ready)
        index.add(slot, filed)
        looked.append(wanted)
    if learning is not None:
        model = MatchModel.from_json(learning.result())
    assert model is not None
    floor = (thresholds or Thresholds.for_register(len(register))).match
    compare = model.compare

    def matched(share: int, report: Callable[[int], None] | None) -> list[tuple[int, int]]:
        """The MATCH pairs of every ``count``-th record from ``share`` on."""
        pairs: list[tuple[int, int]] = []
        for done, slot in enumerate(range(share, len(prepared), count), start=1):
            ready = prepared[slot]
            for other in set(index.candidates_before(looked[slot], slot)):
                if compare(ready, prepared[other])[0] >= floor:
                    pairs.append((slot, other))
            if report is not None and done % _PROGRESS_EVERY == 0:
                report(min(done * count, len(prepared)))
        return pairs

    reported: list[int] = [0]

    def report(done: int) -> None:
        reported[0] = done
        if progress is not None:
            progress(done)

    helpers = [Forked(partial(matched, share, None)) for share in range(1, count)]
    pairs = matched(0, report)
    for helper in helpers:
        pairs += helper.result()
    clusters = _Clusters()
    for slot, other in pairs:
        clusters.join(register[slot].record_id, register[other].record_id)
    if reported[0] != len(register):
        report(len(register))
    return clusters.groups()
