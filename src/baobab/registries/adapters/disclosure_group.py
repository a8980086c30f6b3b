"""Group commit of disclosures: reads of personal data that arrive while one is being written
are written together, in the next transaction, with one commit.

Appending to a registry's disclosure chain holds the chain's head until the commit, and a commit
waits for the disk (one to a few milliseconds): one commit per read would line readers up at one
commit each. Instead the first reader to arrive writes (the leader), through its own connection;
readers who arrive meanwhile queue their entries and wait; when the leader has committed, one of
them writes everything queued since, and so on. Every reader still returns only after its entries
are committed — durable, in chain order — and no thread or connection is added.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from baobab.registries.domain import Disclosure

Batch = list[tuple[int, Sequence[Disclosure]]]  # (registry id, entries) in arrival order
Writer = Callable[[Batch], list[Sequence[Disclosure]]]  # one transaction; chained entries


@dataclass
class _Slot:
    registry_id: int
    entries: Sequence[Disclosure]
    done: bool = False
    chained: Sequence[Disclosure] = ()
    failure: BaseException | None = None


@dataclass
class DisclosureGroup:
    """The queue of disclosures waiting for the next commit, for one database."""

    _condition: threading.Condition = field(default_factory=threading.Condition)
    _queue: list[_Slot] = field(default_factory=list)
    _writing: bool = False

    def append(
        self, registry_id: int, entries: Sequence[Disclosure], write: Writer
    ) -> Sequence[Disclosure]:
        """Queue ``entries``; return them as chained once committed (by this caller's
        ``write`` or another's). Raises what the write of their batch raised."""
        slot = _Slot(registry_id, entries)
        with self._condition:
            self._queue.append(slot)
            while self._writing and not slot.done:
                self._condition.wait()
            if slot.done:
                return _result(slot)
            batch, self._queue = self._queue, []
            self._writing = True
        try:
            chained = write([(s.registry_id, s.entries) for s in batch])
            for member, result in zip(batch, chained, strict=True):
                member.chained = result
        except BaseException as failure:
            for member in batch:
                member.failure = failure
            raise
        finally:
            with self._condition:
                for member in batch:
                    member.done = True
                self._writing = False
                self._condition.notify_all()
        return _result(slot)

    @property
    def waiting(self) -> int:
        """How many appends are queued for the next commit."""
        with self._condition:
            return len(self._queue)


def _result(slot: _Slot) -> Sequence[Disclosure]:
    if slot.failure is not None:
        raise slot.failure
    return slot.chained


_GROUPS: WeakKeyDictionary[object, DisclosureGroup] = WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_for(engine: object) -> DisclosureGroup:
    """The group of one database engine (one per process and database)."""
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = DisclosureGroup()
        return group
