"""A registry's history: every revision of a record, the chain's export and verification, and
the log of personal-data reads."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import replace

from baobab.kernel.hashchain import GENESIS, ChainBreak, Link, verify_chain
from baobab.registries.disclosure_chain import disclosure_link
from baobab.registries.domain import (
    Caller,
    Change,
    Disclosure,
    Operation,
    Registry,
    Revision,
    Verification,
)
from baobab.registries.errors import UnknownRecord
from baobab.registries.ports import RegistryStore
from baobab.registries.units import UseCases


class HistoryUseCases(UseCases):
    """Revisions, disclosures and the verification of the chain."""

    def history(self, caller: Caller, code: str, record_id: str) -> list[Revision]:
        """Every revision of one record, oldest first; personal fields hidden without the right."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.HISTORY)
            revisions = uow.store.revisions(registry.id, record_id=record_id, limit=10**6)
            if not revisions:
                raise UnknownRecord(f"no record {record_id!r} in {code}")
            return self._reveal_revisions(uow, registry, caller, allowed, revisions)

    def revisions(
        self, caller: Caller, code: str, *, after: int = 0, limit: int = 100
    ) -> list[Revision]:
        """The registry's chain from ``after`` on, for export and outside verification."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.HISTORY)
            revisions = uow.store.revisions(registry.id, after=after, limit=min(limit, 10_000))
            return self._reveal_revisions(uow, registry, caller, allowed, revisions)

    def disclosures(
        self,
        caller: Caller,
        code: str,
        *,
        record_id: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> Sequence[Disclosure]:
        """Who read personal fields of the registry (or of one record), in chain order from
        the entry after sequence ``after``; each entry carries its link of the chain."""
        with self._unit(caller, code, reading=True) as (uow, registry):
            self._allowed(uow, registry, caller, Operation.HISTORY)
            return uow.store.disclosures(
                registry.id, record_id=record_id, after=after, limit=min(limit, 10_000)
            )

    def verify(self, caller: Caller, code: str) -> Verification:
        """Re-compute the registry's chain of revisions and check every record against its
        newest revision; re-compute its chain of disclosures."""
        with self._unit(caller, code) as (uow, registry):
            self._allowed(uow, registry, caller, Operation.HISTORY)
            verdict = _verify_revisions(uow.store, registry)
            count, broken = _verify_disclosures(uow.store, registry)
            verdict = replace(verdict, disclosures=count)
            if broken is not None:
                return replace(
                    verdict,
                    intact=False,
                    first_broken_disclosure=broken.sequence,
                    reason=f"disclosure {broken.sequence}: {broken.reason}"
                    + (f"; {verdict.reason}" if verdict.reason else ""),
                )
            if verdict.intact:
                self._audit(
                    uow,
                    "registries.chain_verified",
                    caller.actor,
                    code,
                    revisions=str(verdict.revisions),
                    disclosures=str(count),
                )
            return verdict


def _verify_revisions(store: RegistryStore, registry: Registry) -> Verification:
    code = registry.code
    newest: dict[str, tuple[int, int, bool]] = {}
    count = 0
    last = GENESIS

    def links() -> Generator[Link, None, None]:
        nonlocal count, last
        with closing(store.iter_revisions(registry.id)) as revisions:
            for revision in revisions:
                count += 1
                last = revision.hash
                newest[revision.record_id] = (
                    revision.sequence,
                    revision.record_version,
                    revision.change == Change.DELETE,
                )
                yield Link(
                    revision.sequence, revision.previous_hash, revision.payload(), revision.hash
                )

    with closing(links()) as walk:
        broken = verify_chain(walk)
    if broken is not None:
        return Verification(code, count, False, broken.sequence, broken.reason)
    sequence, head = store.chain_head(registry.id)
    if sequence != count or head != last:
        return Verification(code, count, False, count + 1, f"revisions after {count} were removed")
    with closing(store.iter_record_heads(registry.id)) as heads:
        for row in heads:
            if newest.pop(row.record_id, None) != (row.revision_seq, row.version, row.deleted):
                return Verification(
                    code,
                    count,
                    False,
                    row.revision_seq,
                    f"record {row.record_id} does not match its newest revision",
                )
    if newest:
        missing = next(iter(newest))
        return Verification(code, count, False, newest[missing][0], f"record {missing} is missing")
    return Verification(code, count, True)


def _verify_disclosures(store: RegistryStore, registry: Registry) -> tuple[int, ChainBreak | None]:
    """The number of disclosures and the first break of their chain, if any."""
    count = 0
    last = GENESIS

    def links() -> Generator[Link, None, None]:
        nonlocal count, last
        with closing(store.iter_disclosures(registry.id)) as entries:
            for entry in entries:
                count += 1
                last = entry.hash
                yield disclosure_link(entry)

    with closing(links()) as walk:
        broken = verify_chain(walk)
    if broken is not None:
        return count, broken
    sequence, head = store.disclosure_head(registry.id)
    if sequence != count or head != last:
        return count, ChainBreak(count + 1, f"disclosures after {count} were removed")
    return count, None
