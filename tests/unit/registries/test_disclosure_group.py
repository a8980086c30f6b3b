"""Group commit of disclosures: reads that arrive while one is written are written together
next, each caller gets its own entries back, and a failed write fails every read it carried."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from baobab.registries.adapters.disclosure_group import Batch, DisclosureGroup
from baobab.registries.domain import Disclosure


def entry(n: int) -> Disclosure:
    return Disclosure(
        f"id-{n}", "social-registry", f"HH-{n}", "reader", datetime.now(UTC), "read", ()
    )


class Writes:
    """A fake transaction: numbers the entries in arrival order; the first write waits until
    the test lets it go, so that other reads queue behind it."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.failure: Exception | None = None
        self.sequence = 0

    def __call__(self, batch: Batch) -> list[Sequence[Disclosure]]:
        if not self.batches:
            self.entered.set()
            self.release.wait(timeout=10)
        self.batches.append(batch)
        if self.failure is not None:
            raise self.failure
        out: list[Sequence[Disclosure]] = []
        for _, entries in batch:
            chained = []
            for e in entries:
                self.sequence += 1
                chained.append(replace(e, sequence=self.sequence))
            out.append(chained)
        return out


def run(
    group: DisclosureGroup, writes: Writes, count: int
) -> tuple[dict[int, Sequence[Disclosure] | Exception], Writes]:
    results: dict[int, Sequence[Disclosure] | Exception] = {}

    def read(n: int) -> None:
        try:
            results[n] = group.append(1, [entry(n)], writes)
        except Exception as exc:  # each outcome is checked by the test
            results[n] = exc

    first = threading.Thread(target=read, args=(0,))
    first.start()
    assert writes.entered.wait(timeout=10)  # the first read is writing
    others = [threading.Thread(target=read, args=(n,)) for n in range(1, count)]
    for t in others:
        t.start()
    while group.waiting < count - 1:  # everyone else is queued behind the first write
        threading.Event().wait(0.001)
    writes.release.set()
    for t in [first, *others]:
        t.join(timeout=10)
    return results, writes


def test_reads_queued_behind_a_write_share_the_next_commit() -> None:
    results, writes = run(DisclosureGroup(), Writes(), 6)
    assert [len(b) for b in writes.batches] == [1, 5]
    chained = [r for r in results.values() if not isinstance(r, Exception)]
    assert sorted(r[0].record_id for r in chained) == [f"HH-{n}" for n in range(6)]
    assert sorted(r[0].sequence for r in chained) == [1, 2, 3, 4, 5, 6]


def test_a_failed_write_fails_every_read_it_carried() -> None:
    writes = Writes()
    writes.failure = RuntimeError("disk full")
    results, _ = run(DisclosureGroup(), writes, 4)
    assert all(isinstance(r, RuntimeError) for r in results.values())
    assert len(results) == 4


def test_an_idle_group_writes_at_once() -> None:
    writes = Writes()
    writes.release.set()
    chained = DisclosureGroup().append(7, [entry(1), entry(2)], writes)
    assert [d.sequence for d in chained] == [1, 2]
    assert [[registry for registry, _ in batch] for batch in writes.batches] == [[7]]
