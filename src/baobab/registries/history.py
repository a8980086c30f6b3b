"""A registry's history: every revision of a record, the chain's export and verification, and
the log of personal-data reads."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing

from baobab.kernel.hashchain import GENESIS, Link, verify_chain
from baobab.registries.domain import (
    Caller,
    Change,
    Disclosure,
    Operation,
    Revision,
    UnknownRecord,
    Verification,
)
from baobab.registries.units import UseCases


class HistoryUseCases(UseCases):
    """Revisions, disclosures and the verification of the chain."""

    def history(self, caller: Caller, code: str, record_id: str) -> list[Revision]:
        """Every revision of one record, oldest first; personal fields hidden without the right."""
        with self._unit(caller, code) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.HISTORY)
            revisions = uow.store.revisions(registry.id, record_id=record_id, limit=10**6)
            if not revisions:
                raise UnknownRecord(f"no record {record_id!r} in {code}")
            return self._reveal_revisions(uow, registry, caller, allowed, revisions)

    def revisions(
        self, caller: Caller, code: str, *, after: int = 0, limit: int = 100
    ) -> list[Revision]:
        """The registry's chain from ``after`` on, for export and outside verification."""
        with self._unit(caller, code) as (uow, registry):
            allowed = self._allowed(uow, registry, caller, Operation.HISTORY)
            revisions = uow.store.revisions(registry.id, after=after, limit=min(limit, 10_000))
            return self._reveal_revisions(uow, registry, caller, allowed, revisions)

    def disclosures(
        self,
        caller: Caller,
        code: str,
        *,
        record_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Disclosure]:
        """Who read personal fields of the registry (or of one record), oldest first."""
        with self._unit(caller, code) as (uow, registry):
            self._allowed(uow, registry, caller, Operation.HISTORY)
            return uow.store.disclosures(
                registry.id, record_id=record_id, after=after, limit=min(limit, 10_000)
            )

    def verify(self, caller: Caller, code: str) -> Verification:
        """Re-compute the registry's chain and check every record against its newest revision."""
        with self._unit(caller, code) as (uow, registry):
            self._allowed(uow, registry, caller, Operation.HISTORY)
            store = uow.store
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
                            revision.sequence,
                            revision.previous_hash,
                            revision.payload(),
                            revision.hash,
                        )

            with closing(links()) as walk:
                broken = verify_chain(walk)
            if broken is not None:
                return Verification(code, count, False, broken.sequence, broken.reason)
            sequence, head = store.chain_head(registry.id)
            if sequence != count or head != last:
                return Verification(
                    code, count, False, count + 1, f"revisions after {count} were removed"
                )
            with closing(store.iter_record_heads(registry.id)) as heads:
                for row in heads:
                    if newest.pop(row.record_id, None) != (
                        row.revision_seq,
                        row.version,
                        row.deleted,
                    ):
                        return Verification(
                            code,
                            count,
                            False,
                            row.revision_seq,
                            f"record {row.record_id} does not match its newest revision",
                        )
            if newest:
                missing = next(iter(newest))
                return Verification(
                    code, count, False, newest[missing][0], f"record {missing} is missing"
                )
            self._audit(uow, "registries.chain_verified", caller.actor, code, revisions=str(count))
            return Verification(code, count, True)
